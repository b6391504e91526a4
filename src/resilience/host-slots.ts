/**
 * The activity slots of one host, shared by all of its queues: a host takes exactly what it can run.
 *
 * The SDK reserves a slot before each long poll and keeps it until the poll returns, and no API takes a task back,
 * so the only place to refuse work is the reservation. One supplier object serves every activity worker of the host
 * (the SDK passes the queue in each call):
 * - a CUDA class queue gets a poll permit only while it has fewer polls in flight than the host has unclaimed GPUs,
 *   and none while the host is quarantined (one trial in half-open);
 * - the CPU queue holds at most `maxTasks` (polls and running tasks together), gated by quarantine too;
 * - the host queue (pinned and moved work) holds at most `maxTasks` + GPUs; GPU tasks on it wait for a GPU here.
 * A task that arrives on a class queue counts as one GPU until its slot is released; one that needs more GPUs
 * reserves the rest in the GpuPool, so polls stop until they are free (Slurm-like: the big job is not starved).
 */
import type { ActivitySlotInfo, CustomSlotSupplier, SlotMarkUsedContext, SlotPermit, SlotReleaseContext, SlotReserveContext, TunerHolder } from '@temporalio/worker';
import { CPU_TASK_QUEUE, hostIdFromQueue } from '../domain/hardware';
import type { HostQuarantine } from './host-quarantine';

/** How often a waiting reservation looks again (the cool-down is minutes; this is cheap); changes wake waiters at once. */
const RECHECK_MS = 250;

/** GPUs of one host: which are leased, and how many more the tasks waiting for them need. */
export class GpuPool {
  private readonly leased = new Map<number, string>();
  /** owner → GPUs it holds beyond the one its class-queue slot already counts (or all of them from the host queue). */
  private readonly extra = new Map<string, number>();
  private readonly waiters: { owner: string; wake: () => void }[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly total: number) {}

  /** GPUs not leased and not promised to a waiting task. */
  unclaimed(classTasksArrived: number): number {
    let extra = 0;
    for (const n of this.extra.values()) extra += n;
    return Math.max(0, this.total - classTasksArrived - extra);
  }

  leasedBy(owner: string): number[] {
    return [...this.leased].filter(([, o]) => o === owner).map(([gpu]) => gpu);
  }

  /** Calls `fn` whenever GPUs are leased or freed (the slot supplier re-evaluates its waiters). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Leases `count` of `candidates` (GPU indices that fit the task, best first) for `owner`, waiting in FIFO order
   * while they are busy. `countedBySlot` says whether the task's class-queue slot already counts one GPU. Resolves
   * undefined if `maxWaitMs` passes first, or the signal aborts.
   */
  async acquire(owner: string, count: number, candidates: number[], opts: { countedBySlot: boolean; maxWaitMs?: number; signal?: AbortSignal }): Promise<number[] | undefined> {
    const reserve = count - (opts.countedBySlot ? 1 : 0);
    if (reserve > 0) this.extra.set(owner, reserve);
    this.emit();
    const deadline = opts.maxWaitMs === undefined ? Infinity : Date.now() + opts.maxWaitMs;
    const me = { owner, wake: () => undefined as void };
    this.waiters.push(me);
    try {
      for (;;) {
        const free = candidates.filter((gpu) => !this.leased.has(gpu));
        if (this.waiters[0] === me && free.length >= count) {
          const got = free.slice(0, count);
          for (const gpu of got) this.leased.set(gpu, owner);
          return got;
        }
        if (opts.signal?.aborted || Date.now() >= deadline) {
          this.extra.delete(owner);
          return undefined;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(RECHECK_MS, Math.max(1, deadline - Date.now())));
          me.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      this.waiters.splice(this.waiters.indexOf(me), 1);
      this.waiters[0]?.wake();
      this.emit();
    }
  }

  release(owner: string): void {
    for (const gpu of this.leasedBy(owner)) this.leased.delete(gpu);
    this.extra.delete(owner);
    this.waiters[0]?.wake();
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

interface Permit extends SlotPermit {
  queue: string;
  /** This slot is the half-open trial: give the trial back if no task came with it. */
  trial: boolean;
  /** A task arrived with this slot (markSlotUsed). */
  used?: boolean;
}

export interface HostSlotOptions {
  /** Most CPU tasks at once (`--max-tasks`); also the host queue's share beyond the GPUs. */
  maxTasks: number;
  gpus: GpuPool;
  quarantine: HostQuarantine;
}

export class HostSlotSupplier implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  private readonly permits = new Set<Permit>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: HostSlotOptions) {
    opts.gpus.onChange(() => this.wakeAll());
  }

  /** Tasks taken from CUDA class queues and still running: each counts one GPU. */
  private cudaTasksArrived(): number {
    let n = 0;
    for (const p of this.permits) if (p.used && isCudaClassQueue(p.queue)) n += 1;
    return n;
  }

  private count(queue: string, which: 'all' | 'polling'): number {
    let n = 0;
    for (const p of this.permits) if (p.queue === queue && (which === 'all' || !p.used)) n += 1;
    return n;
  }

  private take(queue: string): Permit | null {
    const { maxTasks, gpus, quarantine } = this.opts;
    if (hostIdFromQueue(queue) !== undefined) {
      if (this.count(queue, 'all') >= maxTasks + gpus.total) return null;
      return this.add({ queue, trial: false });
    }
    if (queue === CPU_TASK_QUEUE) {
      if (this.count(queue, 'all') >= maxTasks) return null;
    } else if (this.count(queue, 'polling') >= gpus.unclaimed(this.cudaTasksArrived())) {
      return null;
    }
    const state = quarantine.state();
    if (!quarantine.shouldAcceptClassWork()) return null;
    return this.add({ queue, trial: state === 'half-open' });
  }

  private add(p: Permit): Permit {
    this.permits.add(p);
    return p;
  }

  async reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    for (;;) {
      // The SDK expects its own abort reason back; anything else is logged as an error of the supplier.
      if (abortSignal.aborted) throw abortSignal.reason;
      const permit = this.take(ctx.taskQueue);
      if (permit) return permit;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, RECHECK_MS);
        const waiters = this.waiters;
        function done() {
          clearTimeout(timer);
          abortSignal.removeEventListener('abort', done);
          waiters.delete(done);
          resolve();
        }
        abortSignal.addEventListener('abort', done);
        waiters.add(done);
      });
    }
  }

  tryReserveSlot(ctx: SlotReserveContext): SlotPermit | null {
    return this.take(ctx.taskQueue);
  }

  markSlotUsed(ctx: SlotMarkUsedContext<ActivitySlotInfo>): void {
    (ctx.permit as Permit).used = true;
  }

  releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>): void {
    const permit = ctx.permit as Permit;
    this.permits.delete(permit);
    // A trial slot whose poll came back empty: let the next poll carry the trial.
    if (permit.trial && !ctx.slotInfo) this.opts.quarantine.releaseProbe();
    this.wakeAll();
  }

  /** Busy and polling slots per queue, for logs and `dtf workers`. */
  snapshot(): Record<string, { running: number; polling: number }> {
    const out: Record<string, { running: number; polling: number }> = {};
    for (const p of this.permits) {
      const q = (out[p.queue] ??= { running: 0, polling: 0 });
      if (p.used) q.running += 1;
      else q.polling += 1;
    }
    return out;
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

function isCudaClassQueue(queue: string): boolean {
  return queue !== CPU_TASK_QUEUE && hostIdFromQueue(queue) === undefined;
}

/** A tuner for an activity-only worker of this host: the shared supplier decides its slots. */
export function hostSlotTuner(supplier: HostSlotSupplier): TunerHolder {
  return {
    activityTaskSlotSupplier: supplier,
    // Unused by an activity-only worker, but the tuner must name them.
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
  };
}
