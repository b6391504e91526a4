/**
 * Detects this host's hardware with systeminformation (nvidia-smi behind it on NVIDIA hosts). Simulated GPUs
 * come only from the explicit --simulate-gpu option and are marked `simulated` everywhere they appear.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import si from 'systeminformation';
import { GpuInfo, HostHardware, HostId } from '../domain/hardware';

const run = promisify(execFile);

export function defaultHostId(): string {
  const cleaned = os
    .hostname()
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return cleaned || 'host';
}

/** nvidia-smi reports compute capability (driver ≥ 510); systeminformation does not, so ask it directly. */
async function computeCapabilities(): Promise<Map<number, number>> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=index,compute_cap', '--format=csv,noheader'], { timeout: 5_000 });
    const map = new Map<number, number>();
    for (const line of stdout.trim().split('\n')) {
      const [index, cc] = line.split(',').map((s) => s.trim());
      if (index !== undefined && cc && !Number.isNaN(Number(cc))) map.set(Number(index), Number(cc));
    }
    return map;
  } catch {
    return new Map();
  }
}

export async function detectGpus(): Promise<GpuInfo[]> {
  const graphics = await si.graphics();
  const nvidia = graphics.controllers.filter((c) => /nvidia/i.test(`${c.vendor} ${c.model} ${c.name ?? ''}`) && (c.memoryTotal ?? c.vram ?? 0) > 0);
  if (!nvidia.length) return [];
  const ccs = await computeCapabilities();
  return nvidia.map((c, i) => ({
    name: c.name || c.model,
    // systeminformation reports MiB; GB here means GiB, as nvidia-smi and the tier ladder do.
    memoryGb: Math.round(((c.memoryTotal ?? c.vram ?? 0) / 1024) * 100) / 100,
    computeCapability: ccs.get(c.subDeviceId ? Number(c.subDeviceId) : i) ?? ccs.get(i),
    simulated: false,
  }));
}

export interface DetectOptions {
  hostId?: string;
  /** GPUs this worker advertises without having them (testing without a GPU). */
  simulateGpus?: GpuInfo[];
  /** Skip real GPU detection (e.g. when it is slow or known absent). */
  skipGpuDetection?: boolean;
}

export async function detectHardware(opts: DetectOptions = {}): Promise<HostHardware> {
  const [cpu, mem, gpus] = await Promise.all([si.cpu(), si.mem(), opts.skipGpuDetection ? Promise.resolve([]) : detectGpus()]);
  return {
    hostId: HostId.parse(opts.hostId ?? defaultHostId()),
    cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cpuCores: cpu.cores || os.cpus().length,
    memoryGb: Math.round((mem.total / 1024 ** 3) * 10) / 10,
    gpus: [...gpus, ...(opts.simulateGpus ?? []).map((g) => ({ ...g, simulated: true }))],
  };
}
