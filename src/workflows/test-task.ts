/**
 * testTaskWorkflow: places one test task on a hardware-class queue, runs it on the host that picks it up, and
 * when a placement's in-place retries (done by Temporal) are over, decides where it goes next. Deterministic only.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { DEFAULT_KIND, ErrorKind } from '../domain/categories';
import {
  FailureFacts,
  Placement,
  PlacementState,
  RecoveryStep,
  classQueueOf,
  decideRecovery,
  hostPlacement,
  fallbackStep,
  initialPlacement,
  parseReassignTarget,
  pickHost,
} from '../domain/placement';
import { policyFor } from '../domain/policies';
import { DtfErrorCategory, DtfHardwareClass, DtfHost, DtfParkedAt, DtfStatus, TaskStatus } from '../domain/search-attributes';
import { TestTaskSpec, formatZodIssues } from '../domain/task-spec';
import type { AttemptHeartbeat, CompensationRecord, FailureMeta, RecoveryLogEntry, TestTaskInput, TestTaskResult } from '../domain/task-result';
import type { ControlActivities } from '../activities/control';
import type { TaskActivities } from '../activities/task';
import {
  DiscardRequest,
  ReassignRequest,
  RedriveRequest,
  ReportFailureRequest,
  attemptEventSignal,
  discardUpdate,
  progressQuery,
  reassignUpdate,
  redriveUpdate,
  reportFailureSignal,
} from './messages';

/** Heartbeats every second; three missed ones mean the worker is gone (detection in seconds, not minutes). */
export const HEARTBEAT_TIMEOUT_MS = 3_000;
/** Upper bound on Temporal's in-place attempts; the activity stops earlier per its category's policy. */
const MAX_TEMPORAL_ATTEMPTS = 20;
/**
 * A host placement targets one host seen polling in the last minute; a worker that stopped since is still listed,
 * so if it does not pick the task up soon the task moves on to another host.
 */
const HOST_PLACEMENT_PICKUP_LIMIT_S = 15;
/**
 * How often a task still waiting for a worker checks that its queue has one (a host polling it, or alive with the
 * hardware for it). Short tasks start before the first check and cost one cancelled timer.
 */
export const QUEUE_WATCH_INTERVAL_MS = 10_000;
/**
 * Checks in a row that must find nobody before the task is re-placed by its fallback rules: right after a server
 * restart the poller lists are empty until the workers poll again (seconds), and one empty look must not move a task.
 */
export const QUEUE_WATCH_EMPTY_CHECKS = 2;

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '500ms' },
});

interface Pending {
  to: Placement | 'find-host';
  action: 'reassign' | 'report-failure';
  reason: string;
  excludeHost?: string;
  category?: string;
}

/** Set by the queue watch: nobody can pick the attempt up, so the placement is given up on as if it had timed out. */
interface Stalled {
  to: 'stalled';
  facts: Facts;
}

export async function testTaskWorkflow(input: TestTaskInput): Promise<TestTaskResult> {
  let spec = input.spec;
  const { workflowId } = workflowInfo();
  const recoveryLog: RecoveryLogEntry[] = [];
  const placements: Placement[] = [];
  let excludedHosts: string[] = [];
  let triedClasses: Placement['hwClass'][] = [];
  /** Index of the first placement of the current run (a redrive starts a new run with fresh placements). */
  let runStart = 0;
  const placementsUsed = () => placements.length - runStart;
  let parked: TestTaskResult | undefined;
  let operatorDecision: { redrive: true; reason: string } | { redrive: false; reason: string } | undefined;
  let status: TaskStatus = 'queued';
  let current: Placement | undefined;
  let currentHost: string | undefined;
  let scope: CancellationScope | undefined;
  let pending: Pending | Stalled | undefined;
  let attempts = 0;
  const startedAt = Date.now();
  let lastFailure: { category: string; exitCode: number | null; outputTail: string; report?: unknown; message: string } | undefined;

  const log = (entry: Omit<RecoveryLogEntry, 'at' | 'placement' | 'queue'> & { queue?: string }) =>
    recoveryLog.push({ at: new Date().toISOString(), placement: placements.length, queue: current?.queue ?? '', ...entry });

  setHandler(progressQuery, () => ({
    status,
    placement: current,
    placementsUsed: placementsUsed(),
    excludedHosts: [...excludedHosts],
    parked,
    recoveryLog: [...recoveryLog],
  }));

  // In-place retries happen inside Temporal; the activity reports them here so the recovery log misses none.
  setHandler(attemptEventSignal, (event) => {
    if (event.action === 'attempt-started' && event.attempt && event.attempt > 1) {
      const previousReported = recoveryLog.some((e) => e.placement === event.placement && e.attempt === event.attempt! - 1 && e.action === 'retry-in-place');
      // The previous attempt said nothing before it ended: its worker died or lost its connection (heartbeat timeout).
      if (!previousReported) {
        recoveryLog.push({
          at: new Date().toISOString(),
          placement: event.placement,
          attempt: event.attempt - 1,
          queue: event.queue,
          hostId: event.previousHostId,
          category: 'WORKER_CRASH_ERROR',
          kind: 'resource',
          rule: 'heartbeat-timeout',
          action: 'retry-in-place',
          reason: `attempt ${event.attempt - 1} on ${event.previousHostId ?? 'an unknown host'} stopped heartbeating; Temporal retried it on ${event.queue}`,
        });
      }
    }
    const { previousHostId: _previous, ...entry } = event;
    recoveryLog.push({ at: new Date().toISOString(), ...entry });
    if (event.hostId) currentHost = event.hostId;
  });

  setHandler(reportFailureSignal, (req: ReportFailureRequest) => {
    const hostId = req.hostId ?? currentHost ?? current?.hostId;
    log({ action: 'report-failure', hostId, category: req.category, reason: `reported: ${req.message}` });
    if (hostId && !excludedHosts.includes(hostId)) excludedHosts.push(hostId);
    // Only the host running the task matters now; a report on another host just keeps the task away from it.
    const runningThere = !req.hostId || req.hostId === currentHost || req.hostId === current?.hostId;
    if (scope && runningThere) {
      pending = { to: 'find-host', action: 'report-failure', reason: `host ${hostId ?? '?'} reported unhealthy: ${req.message}`, excludeHost: hostId, category: req.category };
      scope.cancel();
    }
  });

  setHandler(
    reassignUpdate,
    async (req: ReassignRequest) => {
      const target = parseReassignTarget(req.to, spec, current?.hwClass ?? spec.hardware.class);
      if (!target.ok) throw ApplicationFailure.nonRetryable(target.reason, 'InvalidReassignTarget');
      if (target.placement.hostId) {
        const live = await control.listQueueHosts(target.placement.queue);
        if (!live.some((h) => h.hostId === target.placement.hostId)) {
          throw ApplicationFailure.nonRetryable(`no live worker serves host "${target.placement.hostId}"`, 'InvalidReassignTarget');
        }
      }
      log({ action: 'reassign', to: target.placement.queue, reason: req.reason ?? `operator moved the task to ${req.to}` });
      pending = { to: target.placement, action: 'reassign', reason: req.reason ?? 'operator reassign' };
      scope?.cancel();
      return { queue: target.placement.queue, accepted: true as const };
    },
    {
      validator: (req: ReassignRequest) => {
        if (typeof req?.to !== 'string' || !req.to.trim()) throw new Error('reassign: "to" must be a queue, class or host id');
        if (status !== 'queued' && status !== 'running' && status !== 'retrying') throw new Error(`reassign: task already ${status}`);
        const target = parseReassignTarget(req.to, spec, current?.hwClass ?? spec.hardware.class);
        if (!target.ok) throw new Error(`reassign: ${target.reason}`);
      },
    },
  );

  const setStatus = (next: TaskStatus, extra: { host?: string; category?: string } = {}) => {
    status = next;
    upsertSearchAttributes([
      { key: DtfStatus, value: next },
      ...(current ? [{ key: DtfHardwareClass, value: current.hwClass }] : []),
      ...(extra.host ? [{ key: DtfHost, value: extra.host }] : []),
      ...(extra.category ? [{ key: DtfErrorCategory, value: extra.category }] : []),
    ] as Parameters<typeof upsertSearchAttributes>[0]);
  };

  const finish = (
    final: TaskStatus,
    fields: Partial<TestTaskResult> & { reason?: string },
  ): TestTaskResult => {
    const hostId = fields.hostId ?? currentHost;
    setStatus(final, { host: hostId, category: fields.category });
    return {
      name: spec.name,
      workflowId,
      status: final,
      exitCode: null,
      durationMs: Date.now() - startedAt,
      hwClass: current?.hwClass ?? spec.hardware.class,
      queue: current?.queue ?? '',
      outputTail: '',
      attempts,
      placements,
      recoveryLog,
      ...fields,
      hostId,
    };
  };

  const place = (next: Placement) => {
    current = next;
    placements.push(next);
    if (!triedClasses.includes(next.hwClass)) triedClasses.push(next.hwClass);
    currentHost = next.hostId;
  };

  setHandler(
    redriveUpdate,
    (req: RedriveRequest) => {
      if (req.spec !== undefined) spec = TestTaskSpec.parse(req.spec); // validated already; parse applies defaults
      operatorDecision = { redrive: true, reason: req.reason ?? 'operator redrive' };
      return { workflowId, redrivenWithNewSpec: req.spec !== undefined };
    },
    {
      validator: (req: RedriveRequest) => {
        if (status !== 'dead_lettered' || operatorDecision) throw new Error(`redrive: the task is ${status}, not dead-lettered`);
        if (req?.spec === undefined) return;
        const parsed = TestTaskSpec.safeParse(req.spec);
        if (!parsed.success) throw new Error(`redrive: invalid spec\n${formatZodIssues(parsed.error).join('\n')}`);
        if (parsed.data.name !== spec.name) throw new Error(`redrive: spec name "${parsed.data.name}" differs from the task's "${spec.name}"`);
      },
    },
  );

  setHandler(
    discardUpdate,
    (req: DiscardRequest) => {
      operatorDecision = { redrive: false, reason: req.reason };
      return { workflowId };
    },
    {
      validator: (req: DiscardRequest) => {
        if (status !== 'dead_lettered' || operatorDecision) throw new Error(`discard: the task is ${status}, not dead-lettered`);
        if (typeof req?.reason !== 'string' || !req.reason.trim()) throw new Error('discard: a reason is required');
      },
    },
  );

  // Every run ends passed, failed, cancelled, or in the dead letter queue, where it waits for an operator.
  for (;;) {
    const outcome = await runOnce();
    const retentionS = spec.deadLetterRetentionSeconds;
    if (outcome.status !== 'error' || retentionS === 0) return outcome;
    parked = { ...outcome, status: 'dead_lettered' };
    log({ action: 'dead-letter', category: outcome.category, reason: `parked in the dead letter queue: ${outcome.reason ?? 'no option left'}` });
    parked = { ...parked, recoveryLog: [...recoveryLog] };
    setStatus('dead_lettered', { category: outcome.category });
    upsertSearchAttributes([{ key: DtfParkedAt, value: new Date() }]);
    await control
      .notifyDeadLettered({ workflowId, task: spec.name, category: outcome.category ?? 'UNKNOWN_ERROR', reason: outcome.reason ?? 'no option left', hostId: outcome.hostId })
      .catch(() => undefined); // a notification that cannot be sent never changes the task's outcome
    const decided = await condition(() => operatorDecision !== undefined, retentionS * 1000);
    const decision = operatorDecision;
    operatorDecision = undefined;
    if (!decided || !decision) {
      log({ action: 'expire', reason: `no redrive within the dead-letter retention of ${retentionS} s` });
      return finish('expired', { ...failureFields(), category: outcome.category, reason: `expired in the dead letter queue: ${outcome.reason}` });
    }
    if (!decision.redrive) {
      log({ action: 'discard', reason: decision.reason });
      return finish('discarded', { ...failureFields(), category: outcome.category, reason: `discarded: ${decision.reason}` });
    }
    log({ action: 'redrive', reason: decision.reason });
    parked = undefined;
    runStart = placements.length;
    excludedHosts = [];
    triedClasses = [];
  }

  /** One run of the task: placements until it passes, fails its test, is cancelled, or has no option left (`error`). */
  async function runOnce(): Promise<TestTaskResult> {
  const init = initialPlacement(spec);
  if (!init.ok) {
    log({ action: 'fail', category: 'TEST_CONFIGURATION_ERROR', reason: init.reason });
    return finish('error', { reason: init.reason, category: 'TEST_CONFIGURATION_ERROR' });
  }
  place(init.placement);
  setStatus('running');

  for (;;) {
    const placement = current!;
    // A host chosen by a user or an operator may be busy for a while: it gets the whole placement timeout (the queue
    // watch notices if it is gone). A host recovery picked must take the task soon, or another one is tried.
    const pickupLimitS = placement.hostId && !placement.pinned
      ? Math.min(spec.placementTimeoutSeconds, HOST_PLACEMENT_PICKUP_LIMIT_S)
      : spec.placementTimeoutSeconds;
    const acts = proxyActivities<TaskActivities>({
      taskQueue: placement.queue,
      // Generous: the command's own timeout is enforced inside the activity, which classifies it.
      startToCloseTimeout: (spec.timeoutSeconds + 60) * 1000,
      heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
      scheduleToStartTimeout: pickupLimitS * 1000,
      retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: MAX_TEMPORAL_ATTEMPTS },
      // The process must be stopped (and its host cleaned) before the task runs anywhere else.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    scope = new CancellationScope();
    const attemptScope = scope;
    const watchScope = new CancellationScope();
    // Advisory: if the watch itself fails (e.g. describe is refused), the placement timeout still applies.
    const watching = watchScope.run(() => watchQueue(placement, attemptScope)).catch(() => undefined);
    let outcome: Outcome;
    try {
      const ok = await scope.run(() => acts.runTestTask({ spec, placement, placementIndex: placements.length, workflowId }));
      attempts += ok.attempt;
      currentHost = ok.hostId;
      if (ok.compensation.some((c) => !c.ok)) logCompensation(ok.compensation, ok.hostId);
      return finish('passed', { exitCode: 0, hostId: ok.hostId, outputTail: ok.outputTail });
    } catch (err) {
      watchScope.cancel();
      outcome = await recover(err, placement);
    } finally {
      scope = undefined;
      watchScope.cancel();
      await watching;
    }
    if (outcome.done) return outcome.result;
  }
  }

  /**
   * While the attempt waits to be picked up, checks that some live host can pick it up at all; when none can, cancels
   * it and leaves the decision to recover(). Stops once the attempt runs: from then on heartbeats watch it.
   */
  async function watchQueue(placement: Placement, attemptScope: CancellationScope): Promise<void> {
    let emptyChecks = 0;
    for (;;) {
      await sleep(QUEUE_WATCH_INTERVAL_MS);
      const watch = await control.watchQueue({ workflowId, queue: placement.queue });
      if (watch.started) return;
      emptyChecks = watch.eligibleHosts.length ? 0 : emptyChecks + 1;
      if (emptyChecks < QUEUE_WATCH_EMPTY_CHECKS) continue;
      pending = {
        to: 'stalled',
        facts: {
          category: 'HARDWARE_AVAILABILITY_ERROR',
          kind: 'resource',
          rule: 'queue-has-no-poller',
          hostId: placement.hostId,
          notPickedUp: true,
          message: `no live worker served ${placement.queue} for ${(QUEUE_WATCH_EMPTY_CHECKS * QUEUE_WATCH_INTERVAL_MS) / 1000} s`,
          attempts: 0,
        },
      };
      attemptScope.cancel();
      return;
    }
  }

  /** The host's undos for an attempt that did not pass (or whose cleanup failed): visible, never hiding the error. */
  function logCompensation(records: CompensationRecord[] | undefined, hostId: string | undefined) {
    if (!records?.length) return;
    const failed = records.filter((r) => !r.ok);
    log({
      action: 'compensate',
      hostId,
      reason: failed.length
        ? `undo failed: ${failed.map((r) => `${r.step} (${r.error}, ${r.attempts} attempts)`).join('; ')}; done: ${records.filter((r) => r.ok).map((r) => r.step).join(', ')}`
        : `undone in reverse: ${records.map((r) => r.step).join(', ')}`,
    });
  }

  /** After a placement ended in failure or was cancelled by a signal/update: move on, or end the task. */
  async function recover(err: unknown, placement: Placement): Promise<Outcome> {
    const taken = pending;
    pending = undefined;
    if (taken?.to === 'stalled' && isCancellation(err)) return decide(taken.facts, placement);
    if (taken && taken.to !== 'stalled' && isCancellation(err)) {
      attempts += 1;
      const step: RecoveryStep =
        taken.to === 'find-host'
          ? { action: 'find-host', queue: classQueueOf(placement, spec), hwClass: placement.hwClass, reason: taken.reason, excludeHost: taken.excludeHost }
          : { action: 'move', to: taken.to, reason: taken.reason };
      return applyStep(step, { category: taken.category, hostId: currentHost });
    }
    if (isCancellation(err)) {
      log({ action: 'cancelled', reason: 'the workflow was cancelled' });
      return { done: true, result: finish('cancelled', { reason: 'cancelled' }) };
    }
    return decide(factsFrom(err, placement), placement);
  }

  /** The recovery decision for a failed (or given up) placement. */
  async function decide(facts: Facts, placement: Placement): Promise<Outcome> {
    attempts += facts.attempts;
    logCompensation(facts.meta?.compensation, facts.hostId);
    if (facts.hostId) currentHost = facts.hostId;
    lastFailure = {
      category: facts.category,
      exitCode: facts.meta?.exitCode ?? null,
      outputTail: facts.meta?.outputTail ?? '',
      report: facts.report,
      message: facts.message,
    };
    const policy = facts.meta?.policy ?? policyFor(facts.category, facts.kind, {}, spec.retry);
    const state: PlacementState = { current: placement, placementsUsed: placementsUsed(), excludedHosts, triedClasses };
    const step = decideRecovery(facts, policy, state, spec);
    if (step.action === 'record-test-failure') {
      log({ action: 'record-test-failure', hostId: facts.hostId, category: facts.category, kind: facts.kind, rule: facts.rule, reason: step.reason });
      return {
        done: true,
        result: finish('failed', { ...failureFields(), reason: facts.message, hostId: facts.hostId }),
      };
    }
    return applyStep(step, facts);
  }

  function failureFields(): Partial<TestTaskResult> {
    return {
      category: lastFailure?.category,
      exitCode: lastFailure?.exitCode ?? null,
      outputTail: lastFailure?.outputTail ?? '',
      report: lastFailure?.report,
    };
  }

  /** Carries out a recovery step: a move (re-placement) or the end of the task. */
  async function applyStep(step: RecoveryStep, facts: Partial<Facts>): Promise<Outcome> {
    const about = { hostId: facts.hostId, category: facts.category, kind: facts.kind, rule: facts.rule };
    if (step.action === 'fail' || step.action === 'record-test-failure') {
      log({ action: 'fail', ...about, reason: step.reason });
      return { done: true, result: finish('error', { ...failureFields(), category: facts.category ?? lastFailure?.category, reason: step.reason }) };
    }
    if (step.excludeHost && !excludedHosts.includes(step.excludeHost)) excludedHosts.push(step.excludeHost);
    if (step.action === 'move') {
      const from = current!;
      const action = step.to.hwClass !== from.hwClass ? 'fallback' : step.to.tierGb !== from.tierGb && !step.to.hostId ? 'bigger-gpu' : 'relocate';
      log({ action, ...about, to: step.to.queue, reason: step.reason });
      place(step.to);
      setStatus('retrying');
      return { done: false };
    }
    // find-host: a live host on the class queue, not excluded, not the one that just failed.
    const live = await control.listQueueHosts(step.queue);
    const avoid = [...excludedHosts, ...(facts.hostId ? [facts.hostId] : [])];
    const host = pickHost(live, avoid, spec);
    if (host) {
      const to = hostPlacement(step.hwClass, host.hostId);
      log({ action: 'relocate', ...about, to: to.queue, reason: step.reason });
      place({ ...to, tierGb: current!.tierGb });
      setStatus('retrying');
      return { done: false };
    }
    const state: PlacementState = { current: current!, placementsUsed: placementsUsed(), excludedHosts, triedClasses };
    return applyStep(fallbackStep(spec, state, `${step.reason}; no other live host on ${step.queue}`), facts);
  }
}

type Outcome = { done: true; result: TestTaskResult } | { done: false };

interface Facts extends FailureFacts {
  message: string;
  meta?: FailureMeta;
  report?: unknown;
  attempts: number;
}

/** Reads an activity failure: ApplicationFailure{type: category, details: [report, meta]} or a timeout. */
function factsFrom(err: unknown, placement: Placement): Facts {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const [report, meta] = (cause.details ?? []) as [unknown, FailureMeta | undefined];
      const category = cause.type ?? 'UNKNOWN_ERROR';
      return {
        category,
        kind: (meta?.kind as ErrorKind) ?? kindOf(category),
        rule: meta?.rule ?? 'unknown',
        hostId: meta?.hostId,
        hostGpuMemoryGb: meta?.gpuMemoryGb,
        message: cause.message,
        meta,
        report,
        attempts: meta?.attempt ?? 1,
      };
    }
    if (cause instanceof TimeoutFailure) {
      const beat = (cause.lastHeartbeatDetails ?? undefined) as AttemptHeartbeat | undefined;
      if (cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
        return {
          category: 'HARDWARE_AVAILABILITY_ERROR',
          kind: 'resource',
          rule: 'schedule-to-start-timeout',
          hostId: placement.hostId,
          notPickedUp: true,
          message: `no worker picked the task up from ${placement.queue} in time`,
          attempts: 0,
        };
      }
      if (cause.timeoutType === TimeoutType.HEARTBEAT) {
        return {
          category: 'WORKER_CRASH_ERROR',
          kind: 'resource',
          rule: 'heartbeat-timeout',
          hostId: beat?.hostId ?? placement.hostId,
          hostGpuMemoryGb: beat?.gpuMemoryGb,
          message: `worker ${beat?.hostId ?? '?'} stopped heartbeating (crashed or lost)`,
          attempts: beat?.attempt ?? 1,
        };
      }
      return {
        category: 'NETWORK_TIMEOUT_ERROR',
        kind: 'transient',
        rule: 'activity-timeout',
        hostId: beat?.hostId ?? placement.hostId,
        message: `activity timed out (${cause.timeoutType})`,
        attempts: 1,
      };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { category: 'UNKNOWN_ERROR', kind: 'transient', rule: 'unrecognised-workflow-error', message, attempts: 1 };
}

function kindOf(category: string): ErrorKind {
  return (DEFAULT_KIND as Record<string, ErrorKind>)[category] ?? 'transient';
}

