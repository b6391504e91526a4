/**
 * Host self-quarantine: a host whose own hardware or crash errors repeat stops taking class-queue work for a
 * cool-down, then half-opens and admits exactly one task; its outcome decides healthy or quarantined again.
 * The state machine is pure (clock injected); createQuarantineGate is the thin Temporal edge.
 */
import { ApplicationFailure } from '@temporalio/common';
import { policyFor } from '../domain/policies';
import type { FailureMeta } from '../domain/task-result';
import { QuarantineConfig, QuarantineConfigInput } from './config';

export type QuarantineState = 'healthy' | 'quarantined' | 'half-open';

export type QuarantineEvent =
  | { type: 'quarantined'; reason: string; failures: number; until: number; at: number }
  | { type: 'half-open'; at: number }
  | { type: 'recovered'; quarantinedForMs: number; at: number };

export interface FailureVerdict {
  quarantined: boolean;
  reason?: string;
}

export class HostQuarantine {
  readonly config: QuarantineConfig;
  private readonly counted: ReadonlySet<string>;
  private readonly ignored: ReadonlySet<string>;
  /** Times of counted failures still inside the window. */
  private failures: number[] = [];
  private mode: 'healthy' | 'quarantined' = 'healthy';
  private quarantinedAt = 0;
  private firstQuarantinedAt = 0;
  private halfOpenAnnounced = false;
  private probeAdmitted = false;
  private lastReason?: string;

  constructor(
    config: QuarantineConfigInput = {},
    private readonly now: () => number = Date.now,
    private readonly onEvent: (e: QuarantineEvent) => void = () => undefined,
  ) {
    this.config = QuarantineConfig.parse(config);
    this.counted = new Set(this.config.categories);
    this.ignored = new Set(this.config.ignoreRules);
  }

  state(): QuarantineState {
    if (this.mode === 'healthy') return 'healthy';
    if (this.now() - this.quarantinedAt < this.config.cooldownMs) return 'quarantined';
    if (!this.halfOpenAnnounced) {
      this.halfOpenAnnounced = true;
      this.onEvent({ type: 'half-open', at: this.now() });
    }
    return 'half-open';
  }

  /** Why the host is (or was last) quarantined. */
  reason(): string | undefined {
    return this.lastReason;
  }

  /** Time until a quarantined host half-opens; 0 otherwise. */
  remainingCooldownMs(): number {
    return this.state() === 'quarantined' ? this.quarantinedAt + this.config.cooldownMs - this.now() : 0;
  }

  /** True when this failure counts against the host. */
  counts(category: string, rule?: string): boolean {
    return this.counted.has(category) && !(rule !== undefined && this.ignored.has(rule));
  }

  /**
   * An attempt on this host failed. Successes do not reset the window: a host that fails three times in ten
   * minutes is flaky even if it passed tasks in between.
   */
  recordFailure(category: string, rule?: string): FailureVerdict {
    const state = this.state();
    if (!this.counts(category, rule)) {
      // The admitted task ran to a verdict that is not the host's fault (e.g. its test failed): the host works.
      if (state === 'half-open' && this.probeAdmitted) this.recordSuccess();
      return { quarantined: this.mode === 'quarantined' };
    }
    const at = this.now();
    if (state === 'half-open') {
      return { quarantined: true, reason: this.enter(`${category} on the one task admitted after the cool-down`, 1, at) };
    }
    if (state === 'quarantined') return { quarantined: true, reason: this.lastReason };
    this.failures = this.failures.filter((t) => at - t < this.config.windowMs);
    this.failures.push(at);
    if (this.failures.length < this.config.threshold) return { quarantined: false };
    const minutes = Math.round(this.config.windowMs / 6_000) / 10;
    const reason = `${this.failures.length} host errors within ${minutes} min (last: ${category})`;
    return { quarantined: true, reason: this.enter(reason, this.failures.length, at) };
  }

  /** An attempt on this host passed (or ended in a way that clears the host). */
  recordSuccess(): void {
    if (this.state() !== 'half-open') return;
    const at = this.now();
    const quarantinedForMs = at - this.firstQuarantinedAt;
    this.mode = 'healthy';
    this.failures = [];
    this.probeAdmitted = false;
    this.onEvent({ type: 'recovered', quarantinedForMs, at });
  }

  /** False while quarantined; in half-open, true exactly once until that task's outcome is recorded. */
  shouldAcceptClassWork(): boolean {
    const state = this.state();
    if (state === 'healthy') return true;
    if (state === 'quarantined' || this.probeAdmitted) return false;
    this.probeAdmitted = true;
    return true;
  }

  /** The admitted task ended without a verdict on the host (cancelled, or an unexpected error): admit another. */
  releaseProbe(): void {
    this.probeAdmitted = false;
  }

  private enter(reason: string, failures: number, at: number): string {
    if (this.mode === 'healthy') this.firstQuarantinedAt = at;
    this.mode = 'quarantined';
    this.quarantinedAt = at;
    this.halfOpenAnnounced = false;
    this.probeAdmitted = false;
    this.failures = [];
    this.lastReason = reason;
    this.onEvent({ type: 'quarantined', reason, failures, until: at + this.config.cooldownMs, at });
    return reason;
  }
}

export const QUARANTINE_CATEGORY = 'HARDWARE_AVAILABILITY_ERROR';
export const QUARANTINE_RULE = 'host-quarantined';
/** Delay before a task refused by a quarantined host is offered to its queue again. */
export const QUARANTINE_REDISPATCH_MS = 1_000;

export interface QuarantineGateOptions {
  hostId: string;
  gpuMemoryGb?: number;
  /** Tasks that run even while quarantined (pinned to this host by a user or an operator). */
  isExempt(ctx: ClassTaskContext): boolean;
  /**
   * The worker's slot supplier already keeps class-queue polls away while quarantined and hands out the one
   * half-open trial slot; the gate then refuses only tasks whose poll began before the quarantine did.
   */
  slotsAdmit?: boolean;
}

export interface ClassTaskContext {
  taskQueue: string;
  attempt: number;
  /** The placement was chosen by a user or an operator. */
  pinned?: boolean;
}

export interface QuarantineGate {
  /**
   * Throws a host-attributed ApplicationFailure when this host must not start a class-queue task: retryable after
   * QUARANTINE_REDISPATCH_MS when slots keep this host from polling again (`slotsAdmit`), non-retryable otherwise.
   */
  beforeClassTask(ctx: ClassTaskContext): void;
  /**
   * Runs an activity body behind the gate and records its outcome: success → recordSuccess, ApplicationFailure →
   * recordFailure(type, meta.rule), anything else (cancellation) → releaseProbe. Exempt queues run ungated but
   * their outcomes still count: a pinned task that hits a GPU fault is evidence about this host too.
   */
  guard<T>(ctx: ClassTaskContext, fn: () => Promise<T>): Promise<T>;
}

export function createQuarantineGate(quarantine: HostQuarantine, opts: QuarantineGateOptions): QuarantineGate {
  function beforeClassTask(ctx: ClassTaskContext): void {
    if (opts.isExempt(ctx)) return;
    if (opts.slotsAdmit ? quarantine.state() !== 'quarantined' : quarantine.shouldAcceptClassWork()) return;
    const state = quarantine.state();
    const wait = quarantine.remainingCooldownMs();
    const message =
      state === 'half-open'
        ? `host ${opts.hostId} is half-open after a quarantine and already runs its one trial task`
        : `host ${opts.hostId} is quarantined for ${Math.ceil(wait / 1000)} s more: ${quarantine.reason() ?? 'repeated host errors'}`;
    const kind = 'resource';
    const meta: FailureMeta = {
      attempt: ctx.attempt,
      hostId: opts.hostId,
      gpuMemoryGb: opts.gpuMemoryGb ?? 0,
      exitCode: null,
      signal: null,
      durationMs: 0,
      outputTail: '',
      kind,
      rule: QUARANTINE_RULE,
      policy: policyFor(QUARANTINE_CATEGORY, kind),
      retryInPlace: !!opts.slotsAdmit,
      delayMs: opts.slotsAdmit ? QUARANTINE_REDISPATCH_MS : 0,
      compensation: [],
    };
    if (opts.slotsAdmit) {
      // A poll that began before the quarantine: hand the task back to its queue, where healthy hosts poll and this
      // one does not. With no healthy host it waits there for the cool-down's trial instead of being dead-lettered.
      throw ApplicationFailure.create({ type: QUARANTINE_CATEGORY, message, details: [undefined, meta], nextRetryDelay: QUARANTINE_REDISPATCH_MS });
    }
    // Without slot control this host would poll the task again: re-placing it elsewhere is the workflow's job.
    throw ApplicationFailure.create({ type: QUARANTINE_CATEGORY, message, details: [undefined, meta], nonRetryable: true });
  }

  async function guard<T>(ctx: ClassTaskContext, fn: () => Promise<T>): Promise<T> {
    beforeClassTask(ctx);
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type) {
        const meta = err.details?.[1] as { rule?: unknown } | undefined;
        quarantine.recordFailure(err.type, typeof meta?.rule === 'string' ? meta.rule : undefined);
      } else {
        quarantine.releaseProbe();
      }
      throw err;
    }
    quarantine.recordSuccess();
    return value;
  }

  return { beforeClassTask, guard };
}
