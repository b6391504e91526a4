/**
 * Placement: which queue a task goes to first, and where it goes after its in-place retries are over.
 * Pure functions over plain data; the workflow supplies host discovery results when a decision asks for them.
 */
import { HOST_ATTRIBUTED_CATEGORIES, ErrorKind } from './category-table';
import {
  CPU_TASK_QUEUE,
  GPU_MEMORY_TIERS_GB,
  HardwareClass,
  IdentityInfo,
  cudaQueueForTier,
  hostQueue,
  tierAbove,
  tierFor,
} from './queues';
import type { CategoryPolicy } from './policies';
import type { TestTaskSpec } from './task-spec';

export interface Placement {
  hwClass: HardwareClass;
  queue: string;
  /** GPU-memory tier of a CUDA class queue. */
  tierGb?: number;
  /** Set when the placement is one host's own queue. */
  hostId?: string;
  /** A user (`host:` in the spec) or an operator (`dtf reassign`) chose this host: it runs there even if quarantined. */
  pinned?: boolean;
}

/** Most placements (first one included) a task may use before it ends. */
export const MAX_PLACEMENTS = 5;

export function classPlacement(hwClass: HardwareClass, minGpuMemoryGb?: number): Placement | undefined {
  if (hwClass === 'cpu') return { hwClass, queue: CPU_TASK_QUEUE };
  const tierGb = tierFor(minGpuMemoryGb ?? 0);
  return tierGb === undefined ? undefined : { hwClass, queue: cudaQueueForTier(tierGb), tierGb };
}

/** The class queue behind a placement: where the peers of a host placement are found (its tier, else the task's). */
export function classQueueOf(placement: Placement, spec: TestTaskSpec): string {
  if (placement.tierGb !== undefined) return cudaQueueForTier(placement.tierGb);
  if (!placement.hostId) return placement.queue;
  return classPlacement(placement.hwClass, spec.hardware.minGpuMemoryGb)?.queue ?? placement.queue;
}

export function hostPlacement(hwClass: HardwareClass, hostId: string): Placement {
  return { hwClass, queue: hostQueue(hostId), hostId };
}

export type InitialPlacement = { ok: true; placement: Placement } | { ok: false; reason: string };

export function initialPlacement(spec: TestTaskSpec): InitialPlacement {
  const { hardware } = spec;
  if (spec.host) return { ok: true, placement: { ...hostPlacement(hardware.class, spec.host), pinned: true } };
  const placement = classPlacement(hardware.class, hardware.minGpuMemoryGb);
  if (placement) return { ok: true, placement };
  return {
    ok: false,
    reason: `no GPU tier covers minGpuMemoryGb=${hardware.minGpuMemoryGb} (largest tier: ${GPU_MEMORY_TIERS_GB.at(-1)} GB)`,
  };
}

export interface FailureFacts {
  category: string;
  kind: ErrorKind;
  rule: string;
  /** Host that ran the failed attempt; unknown when nobody picked the task up. */
  hostId?: string;
  /** Largest GPU of that host, from its identity or report. */
  hostGpuMemoryGb?: number;
  /** Nobody picked the task up on its queue in time. */
  notPickedUp?: boolean;
}

export interface PlacementState {
  current: Placement;
  placementsUsed: number;
  excludedHosts: string[];
  triedClasses: HardwareClass[];
}

export type RecoveryStep =
  | { action: 'record-test-failure'; reason: string }
  | { action: 'fail'; reason: string }
  | { action: 'move'; to: Placement; reason: string; excludeHost?: string }
  /** The workflow lists live hosts on `queue` and calls `pickHost`; if none fits it asks `fallbackStep`. */
  | { action: 'find-host'; queue: string; hwClass: HardwareClass; reason: string; excludeHost?: string };

/** The decision after a placement's attempts are over. */
export function decideRecovery(facts: FailureFacts, policy: CategoryPolicy, state: PlacementState, spec: TestTaskSpec): RecoveryStep {
  if (policy.then === 'record-test-failure') {
    return { action: 'record-test-failure', reason: `${facts.category} (${facts.rule}): the test itself failed; no infrastructure retry` };
  }
  const crashWithResourceKind = facts.category === 'WORKER_CRASH_ERROR' && facts.kind === 'resource';
  if (facts.kind === 'permanent' && !crashWithResourceKind) {
    return { action: 'fail', reason: `${facts.category} (${facts.rule}) is permanent: no retry or placement can help` };
  }
  if (policy.then === 'fail' || facts.kind === 'validation') {
    return { action: 'fail', reason: `${facts.category} (${facts.rule}): fail fast, fix the task or its environment` };
  }
  if (state.placementsUsed >= MAX_PLACEMENTS) {
    return { action: 'fail', reason: `all ${MAX_PLACEMENTS} placements used; last error ${facts.category} (${facts.rule})` };
  }
  const excludeHost = facts.hostId && HOST_ATTRIBUTED_CATEGORIES.has(facts.category) ? facts.hostId : undefined;

  if (facts.notPickedUp && state.current.hostId && !spec.host) {
    // A host we moved the task to did not take it (gone since discovery, or busy): try another one of the class.
    return {
      action: 'find-host',
      queue: classQueueOf(state.current, spec),
      hwClass: state.current.hwClass,
      reason: `host ${state.current.hostId} did not pick the task up in time: move to another host`,
      excludeHost: state.current.hostId,
    };
  }
  if (facts.notPickedUp) {
    // Pinned to one host, or on a class queue nobody serves: either way only another class can help.
    return fallbackStep(spec, state, `no eligible host picked the task up on ${state.current.queue}`);
  }
  if (policy.then === 'bigger-gpu' && state.current.hwClass === 'cuda' && facts.rule.startsWith('gpu-oom')) {
    const from = facts.hostGpuMemoryGb ?? state.current.tierGb ?? 0;
    const tierGb = tierAbove(from);
    if (tierGb !== undefined) {
      return {
        action: 'move',
        to: { hwClass: 'cuda', queue: cudaQueueForTier(tierGb), tierGb },
        reason: `GPU out of memory on a ${from} GB GPU: move to the ${tierGb} GB tier`,
        excludeHost,
      };
    }
    return fallbackStep(spec, state, `GPU out of memory and no tier above ${from} GB`, excludeHost);
  }
  return {
    action: 'find-host',
    queue: classQueueOf(state.current, spec),
    hwClass: state.current.hwClass,
    reason: `${facts.category} (${facts.rule}) on ${facts.hostId ?? 'an unknown host'}: move to another host`,
    excludeHost,
  };
}

/** The next allowed hardware class not yet tried, or the end. */
export function fallbackStep(spec: TestTaskSpec, state: PlacementState, why: string, excludeHost?: string): RecoveryStep {
  const next = spec.hardware.fallback.find((c) => !state.triedClasses.includes(c));
  if (next) {
    const to = classPlacement(next, next === 'cuda' ? spec.hardware.minGpuMemoryGb : undefined);
    if (to) return { action: 'move', to, reason: `${why}: fall back to ${next}`, excludeHost };
  }
  const allowed = spec.hardware.fallback.length ? `fallback ${spec.hardware.fallback.join(', ')} already tried` : 'the task allows no fallback class';
  return { action: 'fail', reason: `${why}; ${allowed}` };
}

/**
 * Picks a host from discovery: not excluded, with the compute capability the task needs, most recently seen polling
 * first (a worker that stopped stays listed for a while, but stops being seen). Ties by host id, so it is deterministic.
 */
export function pickHost<H extends Pick<IdentityInfo, 'hostId' | 'computeCapability' | 'lastSeenMs'> & Partial<Pick<IdentityInfo, 'gpuCount' | 'cpuTasks'>>>(
  hosts: H[],
  excluded: string[],
  spec: TestTaskSpec,
): H | undefined {
  const minCc = spec.hardware.minComputeCapability;
  const cuda = spec.hardware.class === 'cuda';
  return hosts
    .filter((h) => !excluded.includes(h.hostId))
    .filter((h) => !cuda || minCc === undefined || h.computeCapability >= minCc)
    .filter((h) => !cuda || h.gpuCount === undefined || h.gpuCount >= spec.hardware.gpus)
    .sort((a, b) => (b.lastSeenMs ?? 0) - (a.lastSeenMs ?? 0) || a.hostId.localeCompare(b.hostId))[0];
}

/** Whether a host may run the spec at all (the activity checks this on the host before running anything). */
export function hostMeetsRequirement(
  host: { gpuMemoryGb: number; computeCapability?: number },
  spec: TestTaskSpec,
  placement: Placement,
): { ok: true } | { ok: false; reason: string } {
  if (placement.hwClass !== 'cuda') return { ok: true };
  const needGb = Math.max(spec.hardware.minGpuMemoryGb ?? 0, placement.tierGb ?? 0);
  if (host.gpuMemoryGb <= 0) return { ok: false, reason: 'this host has no CUDA GPU' };
  if (host.gpuMemoryGb < needGb * 0.95) return { ok: false, reason: `needs ${needGb} GB of GPU memory, this host has ${host.gpuMemoryGb} GB` };
  const minCc = spec.hardware.minComputeCapability;
  if (minCc !== undefined && (host.computeCapability ?? 0) < minCc) {
    return { ok: false, reason: `needs compute capability ${minCc}, this host has ${host.computeCapability ?? 'none'}` };
  }
  return { ok: true };
}

export type ReassignTarget = { ok: true; placement: Placement } | { ok: false; reason: string };

/**
 * Reads an operator's `--to`: a class (`cpu`, `cuda`), a class queue (`dtf-cpu`, `dtf-cuda-24gb`), a host queue
 * (`dtf-host-gpu-07`) or a bare host id (`gpu-07`). Rejects what the task may not use; whether a host is live is checked later.
 */
export function parseReassignTarget(to: string, spec: TestTaskSpec, currentClass: HardwareClass): ReassignTarget {
  const allowed: HardwareClass[] = [spec.hardware.class, ...spec.hardware.fallback];
  const classOk = (c: HardwareClass): ReassignTarget | undefined =>
    allowed.includes(c) ? undefined : { ok: false, reason: `class "${c}" is not allowed for this task (allowed: ${allowed.join(', ')})` };
  const text = to.trim();
  if (text === 'cpu' || text === CPU_TASK_QUEUE) return classOk('cpu') ?? { ok: true, placement: classPlacement('cpu')! };
  if (text === 'cuda') {
    const placement = classPlacement('cuda', spec.hardware.minGpuMemoryGb);
    return classOk('cuda') ?? (placement ? { ok: true, placement } : { ok: false, reason: 'no GPU tier covers this task' });
  }
  const cuda = /^dtf-cuda-(\d+)gb$/.exec(text);
  if (cuda) {
    const tierGb = Number(cuda[1]);
    if (!(GPU_MEMORY_TIERS_GB as readonly number[]).includes(tierGb)) {
      return { ok: false, reason: `unknown queue "${text}": GPU tiers are ${GPU_MEMORY_TIERS_GB.join(', ')} GB` };
    }
    if (tierGb < (spec.hardware.minGpuMemoryGb ?? 0)) {
      return { ok: false, reason: `queue "${text}" is too small: the task needs ${spec.hardware.minGpuMemoryGb} GB of GPU memory` };
    }
    return classOk('cuda') ?? { ok: true, placement: { hwClass: 'cuda', queue: text, tierGb } };
  }
  const hostId = text.startsWith('dtf-host-') ? text.slice('dtf-host-'.length) : text;
  const validHost = /^[a-z0-9][a-z0-9.-]{0,62}$/.test(hostId);
  if (validHost && (text.startsWith('dtf-host-') || !text.startsWith('dtf-'))) {
    return { ok: true, placement: { ...hostPlacement(currentClass, hostId), pinned: true } };
  }
  return { ok: false, reason: `unknown target "${text}": expected cpu, cuda, dtf-cuda-<GB>gb, dtf-host-<id> or a host id` };
}
