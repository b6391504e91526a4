/**
 * `dtf workers`: live hosts from Temporal's poller lists (hardware from the worker identity), their busy slots from
 * the SDK's worker heartbeats, and their self-quarantine from the fleet watch. Pure: what was read in, rows out.
 */
import { CPU_TASK_QUEUE, GPU_MEMORY_TIERS_GB, IdentityInfo, WORKFLOW_TASK_QUEUE, cudaQueueForTier, hostQueue, hostServesQueue, parseWorkerIdentity } from '../../domain/hardware';
import type { HostHealth } from '../../workflows/fleet-watch';
import { table } from './text';

/** One queue's fresh pollers (IdentityInfo with lastSeenMs), as describeQueuePollers returns them. */
export type QueuePollers = Record<string, IdentityInfo[]>;

/** The part of a worker heartbeat (temporal.api.worker.v1.WorkerHeartbeat) this view reads. */
export interface WorkerBeat {
  workerIdentity: string;
  taskQueue: string;
  usedSlots: number;
  heartbeatMs?: number;
}

export interface WorkerRow {
  hostId: string;
  pid?: number;
  gpuCount: number;
  gpuMemoryGb: number;
  computeCapability: number;
  cpuTasks: boolean;
  /** Queues the host polls now. */
  polling: string[];
  /** Class queues its hardware serves that it does not poll now: all its slots there are taken, or it is quarantined. */
  notPolling: string[];
  /** Task slots in use (activity slots on its task queues), from its worker heartbeats; undefined: none received. */
  busySlots?: number;
  busyByQueue?: Record<string, number>;
  busyAsOfMs?: number;
  quarantine: 'none' | 'quarantined' | 'trial' | 'unknown';
  quarantineReason?: string;
  quarantineUntilMs?: number;
  lastSeenMs: number;
}

/** Every class queue a host may serve. */
export const CLASS_QUEUE_NAMES: readonly string[] = [CPU_TASK_QUEUE, ...GPU_MEMORY_TIERS_GB.map(cudaQueueForTier)];

/** Beats older than this are a dead process's or a stalled one's: not shown as busy slots. */
const BEAT_STALE_MS = 60_000;

export function fleetRows(pollers: QueuePollers, beats: WorkerBeat[] | undefined, health: HostHealth[] | undefined, now: number): WorkerRow[] {
  const hosts = new Map<string, IdentityInfo & { lastSeenMs: number }>();
  for (const list of Object.values(pollers)) {
    for (const h of list) {
      const seen = h.lastSeenMs ?? 0;
      const known = hosts.get(h.hostId);
      if (!known || seen > known.lastSeenMs) hosts.set(h.hostId, { ...h, lastSeenMs: Math.max(seen, known?.lastSeenMs ?? 0) });
    }
  }
  return [...hosts.values()]
    .sort((a, b) => a.hostId.localeCompare(b.hostId))
    .map((h) => {
      const polling = Object.entries(pollers)
        .filter(([, list]) => list.some((p) => p.hostId === h.hostId))
        .map(([q]) => q)
        .sort(queueOrder);
      const notPolling = CLASS_QUEUE_NAMES.filter((q) => hostServesQueue(h, q) && !polling.includes(q));
      const mine = beats?.filter((b) => {
        const who = parseWorkerIdentity(b.workerIdentity);
        return who?.hostId === h.hostId && (h.pid === undefined || who.pid === h.pid) && b.taskQueue !== WORKFLOW_TASK_QUEUE && now - (b.heartbeatMs ?? now) < BEAT_STALE_MS;
      });
      const busyByQueue = mine?.length ? Object.fromEntries(mine.filter((b) => b.usedSlots > 0).map((b) => [b.taskQueue, b.usedSlots])) : undefined;
      const state = health === undefined ? undefined : health.find((x) => x.hostId === h.hostId && (h.pid === undefined || x.pid === h.pid));
      return {
        hostId: h.hostId,
        pid: h.pid,
        gpuCount: h.gpuCount,
        gpuMemoryGb: h.gpuMemoryGb,
        computeCapability: h.computeCapability,
        cpuTasks: h.cpuTasks,
        polling,
        notPolling,
        ...(busyByQueue ? { busySlots: Object.values(busyByQueue).reduce((a, b) => a + b, 0), busyByQueue, busyAsOfMs: Math.min(...mine!.map((b) => b.heartbeatMs ?? now)) } : {}),
        quarantine: health === undefined ? 'unknown' : state ? state.state === 'healthy' ? 'none' : state.state : 'none',
        ...(state?.reason ? { quarantineReason: state.reason } : {}),
        ...(state?.untilMs ? { quarantineUntilMs: state.untilMs } : {}),
        lastSeenMs: h.lastSeenMs,
      } satisfies WorkerRow;
    });
}

const queueRank = (q: string) => (q === WORKFLOW_TASK_QUEUE ? 0 : q.startsWith('dtf-cpu') ? 1 : q.startsWith('dtf-cuda-') ? 2 + Number(q.replace(/\D/g, '')) / 10_000 : 9);
const queueOrder = (a: string, b: string) => queueRank(a) - queueRank(b) || a.localeCompare(b);

export function hardwareText(r: Pick<WorkerRow, 'gpuCount' | 'gpuMemoryGb' | 'computeCapability' | 'cpuTasks'>): string {
  const gpus = r.gpuCount > 0 ? `${r.gpuCount} GPU${r.gpuCount > 1 ? 's' : ''} ${r.gpuMemoryGb} GB cc ${r.computeCapability}` : 'CPU only';
  return r.gpuCount > 0 && !r.cpuTasks ? `${gpus}, no CPU tasks` : gpus;
}

const shortQueue = (q: string, hostId: string) => (q === hostQueue(hostId) ? 'host' : q === WORKFLOW_TASK_QUEUE ? 'workflows' : q.replace(/^dtf-/, ''));
const ago = (ms: number) => (ms < 1_000 ? 'now' : `${Math.round(ms / 1000)} s ago`);

export function renderWorkers(rows: WorkerRow[], now: number, notes: string[] = []): string {
  if (!rows.length) return ['no live dtf workers (none polled a dtf queue in the last 75 s)', ...notes].join('\n');
  const lines = table(
    ['HOST', 'HARDWARE', 'POLLING', 'BUSY', 'QUARANTINE', 'SEEN'],
    rows.map((r) => [
      r.hostId,
      hardwareText(r),
      [r.polling.map((q) => shortQueue(q, r.hostId)).join(','), r.notPolling.length ? `(not ${r.notPolling.map((q) => shortQueue(q, r.hostId)).join(',')})` : ''].filter(Boolean).join(' '),
      r.busySlots === undefined ? (r.notPolling.length ? '?' : '0?') : r.busySlots === 0 ? 'idle' : `${r.busySlots} (${Object.entries(r.busyByQueue ?? {}).map(([q, n]) => `${shortQueue(q, r.hostId)} ${n}`).join(', ')})`,
      r.quarantine === 'quarantined'
        ? `yes${r.quarantineUntilMs ? `, ${Math.max(0, Math.round((r.quarantineUntilMs - now) / 1000))} s left` : ''}${r.quarantineReason ? `: ${r.quarantineReason}` : ''}`
        : r.quarantine === 'trial'
          ? 'trial task'
          : r.quarantine === 'unknown'
            ? '?'
            : 'no',
      ago(now - r.lastSeenMs),
    ]),
  );
  return [...lines, ...notes].join('\n');
}
