/**
 * The error report a worker attaches to every failure (first entry of the ApplicationFailure's details), and the pure
 * threshold logic that turns a system snapshot into hardware status. Workflow-safe: no Node APIs here.
 */
import { z } from 'zod';
import { CategoryName, ErrorKind } from './categories';
import { ErrorFrequency } from './error-frequency';
import { HostId, type GpuInfo } from './hardware';

/** Output tail kept in a report: its END, since that is where the error is. Bytes of UTF-8. */
export const OUTPUT_TAIL_MAX_BYTES = 8 * 1024;
/** A message is the error line, not the log; the cap keeps a report well inside Temporal's payload limits. */
export const MESSAGE_MAX_CHARS = 4 * 1024;

/** Overheating: any CPU or GPU strictly above this. */
export const OVERHEAT_TEMPERATURE_C = 85;
/** Memory pressure: system or any GPU memory strictly above this share in use. */
export const MEMORY_PRESSURE_PERCENT = 90;
/** CPU throttling: current clock below this share of its maximum... */
export const CPU_THROTTLE_SPEED_RATIO = 0.6;
/** ...while at least this busy; idle cores clock down by design, which is not throttling. */
export const CPU_THROTTLE_MIN_LOAD_PERCENT = 50;
/** A disk this full is worth a warning (it does not set a flag). */
export const DISK_NEARLY_FULL_PERCENT = 95;

/**
 * NVML clock event ("throttle") reasons, as reported by `nvidia-smi --query-gpu=clocks_throttle_reasons.active`.
 * `throttling`: the hardware slowed itself down; `warning`: worth saying, normal under full load; `none`: by design.
 */
export const GPU_CLOCK_EVENT_REASONS = [
  { bit: 0x1, name: 'gpu_idle', effect: 'none' },
  { bit: 0x2, name: 'applications_clocks_setting', effect: 'none' },
  { bit: 0x4, name: 'sw_power_cap', effect: 'warning' },
  { bit: 0x8, name: 'hw_slowdown', effect: 'throttling' },
  { bit: 0x10, name: 'sync_boost', effect: 'none' },
  { bit: 0x20, name: 'sw_thermal_slowdown', effect: 'throttling' },
  { bit: 0x40, name: 'hw_thermal_slowdown', effect: 'throttling' },
  { bit: 0x80, name: 'hw_power_brake_slowdown', effect: 'throttling' },
  { bit: 0x100, name: 'display_clock_setting', effect: 'none' },
] as const satisfies ReadonlyArray<{ bit: number; name: string; effect: 'throttling' | 'warning' | 'none' }>;

/** Names of the reasons set in an NVML clock-event bitmask (unknown bits are ignored). */
export function gpuClockEventReasons(mask: number): string[] {
  return GPU_CLOCK_EVENT_REASONS.filter((r) => (mask & r.bit) !== 0).map((r) => r.name);
}

const Gb = z.number().finite().nonnegative();
const Percent = z.number().finite().min(0).max(100);
const Count = z.number().int().nonnegative();

export const CpuContext = z.object({
  model: z.string().optional(),
  /** Logical cores. */
  cores: z.number().int().positive().optional(),
  /** Busy share of all cores over a short window just before the report. */
  loadPercent: Percent.optional(),
  speedGHz: z.number().finite().positive().optional(),
  speedMaxGHz: z.number().finite().positive().optional(),
  temperatureC: z.number().finite().optional(),
});
export type CpuContext = z.infer<typeof CpuContext>;

export const MemoryContext = z.object({
  totalGb: Gb,
  /** Not reclaimable (total - available): page cache does not count as pressure. */
  usedGb: Gb,
  usedPercent: Percent,
});
export type MemoryContext = z.infer<typeof MemoryContext>;

export const DiskContext = z.object({
  mount: z.string().min(1),
  totalGb: Gb,
  availableGb: Gb,
  usedPercent: Percent,
});
export type DiskContext = z.infer<typeof DiskContext>;

/** Counters since boot of the default interface; compare two reports to see a rate. */
export const NetworkContext = z.object({
  iface: z.string().min(1),
  rxBytes: Count,
  txBytes: Count,
  rxErrors: Count,
  txErrors: Count,
});
export type NetworkContext = z.infer<typeof NetworkContext>;

export const GpuContext = z.object({
  index: z.number().int().nonnegative().optional(),
  name: z.string().min(1),
  memoryTotalGb: Gb,
  memoryUsedGb: Gb.optional(),
  utilizationPercent: Percent.optional(),
  temperatureC: z.number().finite().optional(),
  clockSmMHz: z.number().finite().nonnegative().optional(),
  clockMaxSmMHz: z.number().finite().nonnegative().optional(),
  /** Active NVML clock event reasons by name (see GPU_CLOCK_EVENT_REASONS). */
  clockEventReasons: z.array(z.string()).optional(),
  /** From the worker's --simulate-gpu option: only name and memory are known, nothing was measured. */
  simulated: z.boolean(),
});
export type GpuContext = z.infer<typeof GpuContext>;

/** A --simulate-gpu GPU as it appears in a report: only what the option says, flagged, nothing measured. */
export function simulatedGpuContext(gpu: Pick<GpuInfo, 'name' | 'memoryGb'>): GpuContext {
  return { name: gpu.name, memoryTotalGb: gpu.memoryGb, simulated: true };
}

/** What the host looked like when the failure was reported. A probe that did not answer is absent and named in `notes`. */
export const SystemContext = z.object({
  cpu: CpuContext,
  memory: MemoryContext.optional(),
  disk: z.array(DiskContext),
  network: z.array(NetworkContext),
  gpus: z.array(GpuContext),
  /** Probes that timed out or failed, e.g. "gpus: no answer within 400 ms". */
  notes: z.array(z.string()),
});
export type SystemContext = z.infer<typeof SystemContext>;

export const HardwareStatus = z.object({
  overheating: z.boolean(),
  memoryPressure: z.boolean(),
  throttling: z.boolean(),
  /** One readable line per finding, flagged or not. */
  warnings: z.array(z.string()),
});
export type HardwareStatus = z.infer<typeof HardwareStatus>;

export const ReportIds = z.object({
  taskId: z.string().min(1),
  workflowId: z.string().min(1),
  runId: z.string().min(1).optional(),
  activityId: z.string().min(1).optional(),
  attempt: z.number().int().positive(),
  workerIdentity: z.string().min(1),
  hostId: HostId,
});
export type ReportIds = z.infer<typeof ReportIds>;

export const ErrorReport = z.object({
  category: CategoryName,
  kind: ErrorKind,
  /** Name of the classification rule that matched. */
  rule: z.string().min(1),
  /** Secrets redacted. */
  message: z.string().max(MESSAGE_MAX_CHARS),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** Last OUTPUT_TAIL_MAX_BYTES of the output, secrets redacted. */
  outputTail: z
    .string()
    .refine((s) => utf8ByteLength(s) <= OUTPUT_TAIL_MAX_BYTES, `outputTail is capped at ${OUTPUT_TAIL_MAX_BYTES} bytes`),
  ids: ReportIds,
  timestamp: z.string().datetime(),
  systemContext: SystemContext,
  hardwareStatus: HardwareStatus,
  frequency: ErrorFrequency,
  /** Wall time spent collecting systemContext. */
  contextCollectionMs: z.number().finite().nonnegative(),
});
export type ErrorReport = z.infer<typeof ErrorReport>;

function utf8Bytes(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** UTF-8 length without Buffer/TextEncoder, so this module stays usable inside the workflow sandbox. */
export function utf8ByteLength(text: string): number {
  if (!/[^\x00-\x7f]/.test(text)) return text.length;
  let bytes = 0;
  for (const ch of text) bytes += utf8Bytes(ch.codePointAt(0) ?? 0);
  return bytes;
}

/** The longest end of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function keepUtf8Tail(text: string, maxBytes: number = OUTPUT_TAIL_MAX_BYTES): string {
  if (text.length * 3 <= maxBytes) return text; // a UTF-16 unit is at most 3 UTF-8 bytes
  let bytes = 0;
  let start = text.length;
  while (start > 0) {
    const low = text.charCodeAt(start - 1);
    const isPair = low >= 0xdc00 && low <= 0xdfff && start >= 2 && isHighSurrogate(text.charCodeAt(start - 2));
    const width = isPair ? 4 : utf8Bytes(low);
    if (bytes + width > maxBytes) break;
    bytes += width;
    start -= isPair ? 2 : 1;
  }
  return text.slice(start);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Flags and readable warnings from a snapshot; the thresholds are the named constants above. */
export function hardwareStatusFrom(context: SystemContext): HardwareStatus {
  const warnings: string[] = [];
  let overheating = false;
  let memoryPressure = false;
  let throttling = false;

  const { cpu, memory } = context;
  if (cpu.temperatureC !== undefined && cpu.temperatureC > OVERHEAT_TEMPERATURE_C) {
    overheating = true;
    warnings.push(`CPU at ${round1(cpu.temperatureC)} °C (over ${OVERHEAT_TEMPERATURE_C} °C)`);
  }
  if (
    cpu.speedGHz !== undefined &&
    cpu.speedMaxGHz !== undefined &&
    cpu.loadPercent !== undefined &&
    cpu.loadPercent >= CPU_THROTTLE_MIN_LOAD_PERCENT &&
    cpu.speedGHz < cpu.speedMaxGHz * CPU_THROTTLE_SPEED_RATIO
  ) {
    throttling = true;
    warnings.push(
      `CPU at ${cpu.speedGHz} GHz of ${cpu.speedMaxGHz} GHz max while ${round1(cpu.loadPercent)} % busy (throttled)`,
    );
  }
  if (memory && memory.usedPercent > MEMORY_PRESSURE_PERCENT) {
    memoryPressure = true;
    warnings.push(`system memory ${round1(memory.usedPercent)} % in use (over ${MEMORY_PRESSURE_PERCENT} %)`);
  }

  context.gpus.forEach((gpu, i) => {
    const label = `GPU ${gpu.index ?? i} (${gpu.name})`;
    if (gpu.temperatureC !== undefined && gpu.temperatureC > OVERHEAT_TEMPERATURE_C) {
      overheating = true;
      warnings.push(`${label} at ${round1(gpu.temperatureC)} °C (over ${OVERHEAT_TEMPERATURE_C} °C)`);
    }
    if (gpu.memoryUsedGb !== undefined && gpu.memoryTotalGb > 0) {
      const usedPercent = (gpu.memoryUsedGb / gpu.memoryTotalGb) * 100;
      if (usedPercent > MEMORY_PRESSURE_PERCENT) {
        memoryPressure = true;
        warnings.push(`${label} memory ${round1(usedPercent)} % in use (over ${MEMORY_PRESSURE_PERCENT} %)`);
      }
    }
    for (const reason of GPU_CLOCK_EVENT_REASONS) {
      if (!gpu.clockEventReasons?.includes(reason.name) || reason.effect === 'none') continue;
      if (reason.effect === 'throttling') throttling = true;
      warnings.push(`${label} clocks limited: ${reason.name}${reason.effect === 'throttling' ? ' (throttled)' : ''}`);
    }
  });

  for (const disk of context.disk) {
    if (disk.usedPercent >= DISK_NEARLY_FULL_PERCENT) {
      warnings.push(`disk ${disk.mount} ${round1(disk.usedPercent)} % full, ${disk.availableGb} GB left`);
    }
  }
  return { overheating, memoryPressure, throttling, warnings };
}
