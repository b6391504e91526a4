/**
 * Hardware classes, GPU-memory tiers, the task-queue names built from them and the worker identity that advertises
 * a host. Plain data and functions, no schema library: the workflow imports this (hardware.ts adds the schemas).
 */
import type { HostHardware } from './hardware';

export const HARDWARE_CLASSES = ['cuda', 'cpu'] as const;
export type HardwareClass = (typeof HARDWARE_CLASSES)[number];

/** The GPU-memory ladder (GB). A host serves every tier its largest GPU reaches; a task goes to the smallest tier that covers its need. */
export const GPU_MEMORY_TIERS_GB = [8, 16, 24, 40, 48, 80, 141] as const;

/**
 * Cards are sold by nominal size but report a little less (a "24 GB" card reports 23.99 GiB, a "16 GB" V100 15.78 GiB),
 * so a GPU counts for a tier when it has at least this share of it.
 */
export const TIER_TOLERANCE = 0.95;

export const QUEUE_PREFIX = 'dtf';
/** Every worker polls this queue for workflows and for control activities (host discovery). */
export const WORKFLOW_TASK_QUEUE = `${QUEUE_PREFIX}-workflows`;
export const CPU_TASK_QUEUE = `${QUEUE_PREFIX}-cpu`;

export function cudaQueueForTier(tierGb: number): string {
  return `${QUEUE_PREFIX}-cuda-${tierGb}gb`;
}

export function hostQueue(hostId: string): string {
  return `${QUEUE_PREFIX}-host-${hostId}`;
}

export function hostIdFromQueue(queue: string): string | undefined {
  const prefix = `${QUEUE_PREFIX}-host-`;
  return queue.startsWith(prefix) ? queue.slice(prefix.length) : undefined;
}

/** Tiers a GPU of this much memory can serve. */
export function tiersServedBy(gpuMemoryGb: number): number[] {
  return GPU_MEMORY_TIERS_GB.filter((tier) => gpuMemoryGb >= tier * TIER_TOLERANCE);
}

/** Smallest tier covering a memory need; undefined when the need exceeds the ladder. */
export function tierFor(minGpuMemoryGb: number): number | undefined {
  return GPU_MEMORY_TIERS_GB.find((tier) => tier >= minGpuMemoryGb);
}

/** Smallest tier that a host with `gpuMemoryGb` cannot serve: where a GPU out-of-memory goes next. */
export function tierAbove(gpuMemoryGb: number): number | undefined {
  return GPU_MEMORY_TIERS_GB.find((tier) => gpuMemoryGb < tier * TIER_TOLERANCE);
}

/**
 * The class queues a host serves: the CPU queue (unless it keeps itself for GPU work), plus one CUDA queue per tier
 * its largest GPU reaches.
 */
export function classQueuesFor(hw: Pick<HostHardware, 'gpus'>, opts: { cpuTasks?: boolean } = {}): string[] {
  const largest = Math.max(0, ...hw.gpus.map((g) => g.memoryGb));
  return [...(opts.cpuTasks === false ? [] : [CPU_TASK_QUEUE]), ...tiersServedBy(largest).map(cudaQueueForTier)];
}

export function bestComputeCapability(hw: Pick<HostHardware, 'gpus'>): number | undefined {
  const ccs = hw.gpus.map((g) => g.computeCapability).filter((c): c is number => c !== undefined);
  return ccs.length ? Math.max(...ccs) : undefined;
}

/**
 * Worker identity as shown in the Web UI's poller list and read back by host discovery:
 * `dtf:<hostId>:gpu<GB>:cc<X.Y>:n<GPUs>:cpu<0|1>:pid<N>`. Only what placement needs travels in it.
 */
export function workerIdentity(hw: HostHardware, pid: number, opts: { cpuTasks?: boolean } = {}): string {
  const largest = Math.max(0, ...hw.gpus.map((g) => g.memoryGb));
  const cc = bestComputeCapability(hw);
  return `dtf:${hw.hostId}:gpu${Math.round(largest * 10) / 10}:cc${cc ?? 0}:n${hw.gpus.length}:cpu${opts.cpuTasks === false ? 0 : 1}:pid${pid}`;
}

export interface IdentityInfo {
  hostId: string;
  gpuMemoryGb: number;
  computeCapability: number;
  /** GPUs on the host: a task asking for more cannot run there. */
  gpuCount: number;
  /** Whether the host takes CPU-only work (`dtf worker --no-cpu-tasks` says no). */
  cpuTasks: boolean;
  pid?: number;
  /** When Temporal last saw this host poll (epoch ms), from host discovery. */
  lastSeenMs?: number;
}

export function parseWorkerIdentity(identity: string): IdentityInfo | undefined {
  const m = /^dtf:([a-z0-9][a-z0-9.-]*):gpu([0-9.]+):cc([0-9.]+)(?::n(\d+):cpu([01]))?:pid(\d+)$/.exec(identity);
  if (!m) return undefined;
  const gpuMemoryGb = Number(m[2]);
  return {
    hostId: m[1],
    gpuMemoryGb,
    computeCapability: Number(m[3]),
    // Identities of workers from before GPU counts were advertised: one GPU if any, CPU work taken.
    gpuCount: m[4] !== undefined ? Number(m[4]) : gpuMemoryGb > 0 ? 1 : 0,
    cpuTasks: m[5] !== '0',
    pid: Number(m[6]),
  };
}

/** Whether a host with this identity would serve `queue` (its class queues and its own host queue). */
export function hostServesQueue(host: Pick<IdentityInfo, 'hostId' | 'gpuMemoryGb'> & Partial<Pick<IdentityInfo, 'cpuTasks'>>, queue: string): boolean {
  if (queue === CPU_TASK_QUEUE) return host.cpuTasks !== false;
  const hostOfQueue = hostIdFromQueue(queue);
  if (hostOfQueue !== undefined) return hostOfQueue === host.hostId;
  return classQueuesFor({ gpus: host.gpuMemoryGb > 0 ? [{ name: '', memoryGb: host.gpuMemoryGb, simulated: false }] : [] }).includes(queue);
}
