/**
 * The activity slot supplier of a class-queue worker: at most `maxTasks` at once, and none while the host is
 * quarantined. The SDK polls only with a slot in hand, so a quarantined host really stops taking class-queue work
 * (it drops out of the queue's poller list) instead of taking tasks only to bounce them. In half-open it hands out
 * one slot, across all class queues, for the one trial task.
 */
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit, SlotReleaseContext, SlotReserveContext, TunerHolder } from '@temporalio/worker';
import type { HostQuarantine } from './host-quarantine';

/**
 * How often a waiting reservation looks at the quarantine again (the cool-down is minutes; this is cheap). A freed
 * slot wakes the waiters at once, so a busy host polls again as soon as a task ends.
 */
const RECHECK_MS = 250;

interface Permit extends SlotPermit {
  /** This slot is the half-open trial: give the trial back if no task came with it. */
  trial: boolean;
}

export class QuarantineSlotSupplier implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  private held = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly maxTasks: number,
    private readonly quarantine: HostQuarantine,
  ) {}

  private take(): Permit | null {
    if (this.held >= this.maxTasks) return null;
    const state = this.quarantine.state();
    if (!this.quarantine.shouldAcceptClassWork()) return null;
    this.held += 1;
    return { trial: state === 'half-open' };
  }

  async reserveSlot(_ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    for (;;) {
      // The SDK expects its own abort reason back; anything else is logged as an error of the supplier.
      if (abortSignal.aborted) throw abortSignal.reason;
      const permit = this.take();
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

  tryReserveSlot(): SlotPermit | null {
    return this.take();
  }

  markSlotUsed(): void {}

  releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>): void {
    this.held = Math.max(0, this.held - 1);
    // A trial slot whose poll came back empty: let the next poll carry the trial.
    if ((ctx.permit as Permit).trial && !ctx.slotInfo) this.quarantine.releaseProbe();
    for (const wake of [...this.waiters]) wake();
  }
}

/** A tuner for an activity-only worker whose activity slots the quarantine controls. */
export function quarantineTuner(maxTasks: number, quarantine: HostQuarantine): TunerHolder {
  return {
    activityTaskSlotSupplier: new QuarantineSlotSupplier(maxTasks, quarantine),
    // Unused by an activity-only worker, but the tuner must name them.
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
  };
}
