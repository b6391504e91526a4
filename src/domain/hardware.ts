/** The hardware schemas (classes, host ids, GPUs, a host's hardware); the queue and tier functions are plain code in queues.ts. */
import { z } from 'zod';
import { HARDWARE_CLASSES } from './queues';

export * from './queues';

export const HardwareClass = z.enum(HARDWARE_CLASSES);
export type HardwareClass = z.infer<typeof HardwareClass>;

export const HostId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'expected a host id of lowercase letters, digits, "." and "-" (at most 63 characters)');

export const GpuInfo = z.object({
  name: z.string().min(1),
  memoryGb: z.number().positive(),
  computeCapability: z.number().positive().optional(),
  /** Where this came from: real detection or the --simulate-gpu option. */
  simulated: z.boolean().default(false),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

export const HostHardware = z.object({
  hostId: HostId,
  cpuModel: z.string(),
  cpuCores: z.number().int().positive(),
  memoryGb: z.number().nonnegative(),
  gpus: z.array(GpuInfo),
});
export type HostHardware = z.infer<typeof HostHardware>;

/** Parses the `--simulate-gpu NAME:MEMORY_GB:COMPUTE_CAPABILITY` option. */
export function parseSimulatedGpu(text: string): GpuInfo {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw new Error(`--simulate-gpu "${text}": expected NAME:MEMORY_GB[:COMPUTE_CAPABILITY], e.g. "RTX-4090:24:8.9"`);
  }
  const [name, memory, cc] = parts;
  const memoryGb = Number(memory);
  if (!name || !Number.isFinite(memoryGb) || memoryGb <= 0) {
    throw new Error(`--simulate-gpu "${text}": MEMORY_GB must be a positive number of gigabytes, got "${memory}"`);
  }
  const computeCapability = cc === undefined || cc === '' ? undefined : Number(cc);
  if (computeCapability !== undefined && !(Number.isFinite(computeCapability) && computeCapability > 0)) {
    throw new Error(`--simulate-gpu "${text}": COMPUTE_CAPABILITY must be a number such as 8.6, got "${cc}"`);
  }
  return { name, memoryGb, computeCapability, simulated: true };
}

