/**
 * testTaskWorkflow: places one test task on a hardware queue, runs each attempt on the host that picks it up, and
 * after each failure asks the domain where it goes next: retry in place, another host, a bigger GPU, a fallback
 * class, a recorded test failure, or the dead letter queue. All its state is one TaskState value (task-state.ts).
 * Deterministic only.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { DEFAULT_KIND, ErrorKind } from '../domain/category-table';
import { FailureFacts, Placement, RecoveryStep, classQueueOf, decideRecovery, fallbackStep, hostPlacement, initialPlacement, parseReassignTarget, pickHost } from '../domain/placement';
import { policyFor } from '../domain/policy-table';
import { DtfErrorCategory, DtfHardwareClass, DtfHost, DtfParkedAt, DtfQueue, DtfStatus, TaskStatus } from '../domain/search-attributes';
import { DEFAULT_HISTORY_LIMIT, TaskState, attemptSummary, canMove, current, currentDetailsOf, initialTaskState, placementState, placementsUsed, reportFailureEffect, retryDecision } from '../domain/task-state';
import type { AttemptHeartbeat, CompensationRecord, FailureMeta, RecoveryLogEntry, TestTaskInput, TestTaskResult } from '../domain/task-result';
import { AttemptCarry, absorbCarry, describeCheckpoint } from '../domain/carry';
import type * as TaskSpecModule from '../domain/task-spec';
import type * as TaskRecordModule from '../domain/task-record';
import type * as TestResultsModule from '../domain/test-results';
import type { ControlActivities } from '../activities/control';
import type { ResultsActivities } from '../activities/results';
import type { TaskActivities } from '../activities/task';
import {
  DiscardRequest,
  ReassignRequest,
  RedriveRequest,
  ReportFailureRequest,
  attemptStartedSignal,
  discardUpdate,
  placementObservationSignal,
  progressQuery,
  reassignUpdate,
  redriveUpdate,
  reportFailureSignal,
} from './messages';

/**
 * Modules that build zod schemas as they load, required on first use. Every workflow run evaluates its own copy of
 * the modules it imports, and building those schemas cost each task more than the rest of its workflow code did; a
 * task that passes on its first attempt needs none of them. Deterministic: the code is in the bundle all the same.
 */
const taskSpecModule = (): typeof TaskSpecModule => require('../domain/task-spec');
const taskRecordModule = (): typeof TaskRecordModule => require('../domain/task-record');
const testResultsModule = (): typeof TestResultsModule => require('../domain/test-results');

/** Heartbeats every second; three missed ones mean the worker is gone (detection in seconds, not minutes). */
export const HEARTBEAT_TIMEOUT_MS = 3_000;
/** Room on top of the task's own time limits (setup, command, teardowns) for the workspace, probes and reports. */
const ATTEMPT_MARGIN_S = 60;

const CONTROL_OPTIONS = { startToCloseTimeout: '10s', retry: { maximumAttempts: 3, initialInterval: '500ms' } } as const;
/** Control activities, each call with the one line the Web UI shows for it. */
const controlAs = (summary: string) => proxyActivities<ControlActivities>({ ...CONTROL_OPTIONS, summary });

/**
 * The results store: written at the end of each task (and when it is parked); a write that fails never fails it. A
 * local activity, run by the worker that runs the workflow: no task-queue round trip, so the write costs the server
 * nothing but a marker in the history.
 */
const results = proxyLocalActivities<ResultsActivities>({
  summary: 'write the task record to the results store',
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: ['InvalidTaskRecord', 'ResultsStoreMisconfigured'] },
});
/** Histories from before this patch gave up at once when host discovery found nobody. */
export const FIND_HOST_PATIENCE_PATCH = 'find-host-patience';
/** Extra looks for a live host, and the pause between them, before recovery gives up on a class (~10 s). */
const FIND_HOST_LOOKS = 4;
const FIND_HOST_LOOK_MS = 2_500;
/**
 * Histories from before this patch upsert the search attributes the start already set; later runs skip that write.
 * Runs whose input says `startAttributes` skip it without asking the patch (no marker, no TemporalChangeVersion write).
 */
export const SKIP_INITIAL_UPSERT_PATCH = 'skip-initial-upsert';
/** Histories from before the results store have no such write: they replay without it. */
export const RESULTS_STORE_PATCH = 'results-store';
/**
 * Histories from before this patch ended a cancelled task without its record, and a task cancelled while parked
 * kept DtfStatus dead_lettered; new runs end both `cancelled`, recorded, and the workflow as Temporal's Canceled.
 */
export const CLEAN_CANCEL_PATCH = 'clean-cancel';
/** Histories from before checkpoints pass none into their attempts. */
export const CHECKPOINTS_PATCH = 'checkpoints';

/** A control call that fails after its retries never fails the task: the caller degrades to its placement rules. */
async function tryControl<T>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

type Outcome = { done: true; result: TestTaskResult } | { done: false };

interface Facts extends FailureFacts {
  message: string;
  meta?: FailureMeta;
  report?: unknown;
}

/** Why an attempt in flight was cancelled by the workflow itself (never by a user's cancel). */
type Interruption = { kind: 'move' } | { kind: 'no-eligible-host'; message: string } | { kind: 'queue-timeout' };

export async function testTaskWorkflow(input: TestTaskInput): Promise<TestTaskResult> {
  const info = workflowInfo();
  const { workflowId } = info;
  const state: TaskState = input.resume ?? initialTaskState(input.spec, input.batchId, Date.now());
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  let scope: CancellationScope | undefined;
  let interruption: Interruption | undefined;
  let operatorDecision: { redrive: boolean; reason: string } | undefined;
  /** Bumped by every operator move and fleet observation, so that waits re-check. */
  let wake = 0;
  /** The attempt that passed wrote the task's record itself (recordOnPass). */
  let recordedByWorker = false;

  const log = (entry: Omit<RecoveryLogEntry, 'at' | 'placement' | 'queue'> & { queue?: string }) =>
    state.recoveryLog.push({ at: new Date().toISOString(), placement: state.placements.length, queue: current(state)?.queue ?? '', ...entry });

  const setStatus = (next: TaskStatus, extra: { host?: string; category?: string } = {}) => {
    state.status = next;
    const placement = current(state);
    upsertSearchAttributes([
      { key: DtfStatus, value: next },
      ...(placement ? [{ key: DtfHardwareClass, value: placement.hwClass }, { key: DtfQueue, value: placement.queue }] : []),
      ...(extra.host ? [{ key: DtfHost, value: extra.host }] : []),
      ...(extra.category ? [{ key: DtfErrorCategory, value: extra.category }] : []),
    ] as Parameters<typeof upsertSearchAttributes>[0]);
    showDetails();
  };

  /** The Web UI's "current details" of the task: what it is doing now, and why, in a few lines. */
  const showDetails = () => setCurrentDetails(currentDetailsOf(state));

  setHandler(progressQuery, () => ({
    status: state.status,
    placement: current(state),
    placementsUsed: placementsUsed(state),
    excludedHosts: [...state.excludedHosts],
    parked: state.parked,
    waitingReason: state.waitingReason,
    attempts: state.attempts,
    recoveryLog: [...state.recoveryLog],
    lastFailure: state.lastFailure,
  }));

  setHandler(attemptStartedSignal, (event) => {
    // Only the attempt in flight matters; a late signal from an earlier attempt is history already.
    if (!scope || event.attempt !== state.attempts + 1) return;
    state.currentHost = event.hostId;
    state.waitingReason = undefined;
    state.noEligibleHostSinceMs = undefined;
    setStatus('running', { host: event.hostId });
  });

  setHandler(placementObservationSignal, (obs) => {
    if (!scope || obs.queue !== current(state)?.queue) return;
    if (obs.eligibleHosts > 0) {
      state.noEligibleHostSinceMs = undefined;
    } else if (state.noEligibleHostSinceMs === undefined) {
      state.noEligibleHostSinceMs = Date.now();
      state.waitingReason = `waiting: ${obs.reason}; falls back after ${state.spec.placementTimeoutSeconds} s if none appears`;
      log({ action: 'no-eligible-host', reason: obs.reason });
      showDetails();
    }
    wake += 1;
  });

  setHandler(reportFailureSignal, (req: ReportFailureRequest) => {
    const effect = reportFailureEffect(state, req.hostId, scope !== undefined);
    log({ action: 'report-failure', hostId: effect.exclude, category: req.category, reason: `reported: ${req.message}` });
    if (effect.exclude && !state.excludedHosts.includes(effect.exclude)) state.excludedHosts.push(effect.exclude);
    if (!effect.move) return;
    state.pendingMove = { to: 'find-host', action: 'report-failure', reason: `host ${effect.exclude ?? '?'} reported unhealthy: ${req.message}`, excludeHost: effect.exclude, category: req.category };
    interrupt({ kind: 'move' });
  });

  setHandler(
    reassignUpdate,
    async (req: ReassignRequest) => {
      const target = parseReassignTarget(req.to, state.spec, current(state)?.hwClass ?? state.spec.hardware.class);
      if (!target.ok) throw ApplicationFailure.nonRetryable(target.reason, 'InvalidReassignTarget');
      if (target.placement.hostId) {
        const live = await tryControl(() => controlAs(`is host ${target.placement.hostId} live?`).listQueueHosts(target.placement.queue));
        if (!live.ok) throw ApplicationFailure.nonRetryable(`cannot check that host "${target.placement.hostId}" is live: ${live.error}`, 'InvalidReassignTarget');
        if (!live.value.some((h) => h.hostId === target.placement.hostId)) {
          throw ApplicationFailure.nonRetryable(`no live worker serves host "${target.placement.hostId}"`, 'InvalidReassignTarget');
        }
      }
      // The task may have ended while the liveness check ran.
      const movable = canMove(state);
      if (!movable.ok) throw ApplicationFailure.nonRetryable(`reassign: ${movable.reason}`, 'InvalidReassignTarget');
      log({ action: 'reassign', to: target.placement.queue, reason: req.reason ?? `operator moved the task to ${req.to}` });
      state.pendingMove = { to: target.placement, action: 'reassign', reason: req.reason ?? 'operator reassign' };
      interrupt({ kind: 'move' });
      return { queue: target.placement.queue, accepted: true as const, appliesToAttempt: state.attempts + 1 };
    },
    {
      validator: (req: ReassignRequest) => {
        if (typeof req?.to !== 'string' || !req.to.trim()) throw new Error('reassign: "to" must be a queue, class or host id');
        const movable = canMove(state);
        if (!movable.ok) throw new Error(`reassign: ${movable.reason}`);
        const target = parseReassignTarget(req.to, state.spec, current(state)?.hwClass ?? state.spec.hardware.class);
        if (!target.ok) throw new Error(`reassign: ${target.reason}`);
      },
    },
  );

  setHandler(
    redriveUpdate,
    (req: RedriveRequest) => {
      if (req.spec !== undefined) state.spec = taskSpecModule().TestTaskSpec.parse(req.spec); // validated already; parse applies defaults
      operatorDecision = { redrive: true, reason: req.reason ?? 'operator redrive' };
      return { workflowId, redrivenWithNewSpec: req.spec !== undefined };
    },
    {
      validator: (req: RedriveRequest) => {
        if (state.status !== 'dead_lettered' || operatorDecision) throw new Error(`redrive: the task is ${state.status}, not dead-lettered`);
        if (req?.spec === undefined) return;
        const { TestTaskSpec, formatZodIssues } = taskSpecModule();
        const parsed = TestTaskSpec.safeParse(req.spec);
        if (!parsed.success) throw new Error(`redrive: invalid spec\n${formatZodIssues(parsed.error).join('\n')}`);
        if (parsed.data.name !== state.spec.name) throw new Error(`redrive: spec name "${parsed.data.name}" differs from the task's "${state.spec.name}"`);
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
        if (state.status !== 'dead_lettered' || operatorDecision) throw new Error(`discard: the task is ${state.status}, not dead-lettered`);
        if (typeof req?.reason !== 'string' || !req.reason.trim()) throw new Error('discard: a reason is required');
      },
    },
  );

  function interrupt(why: Interruption) {
    wake += 1;
    if (!scope) return;
    interruption = why;
    scope.cancel();
  }

  const result = await lifecycle();
  // A cancelled workflow still writes its record and answers its last handlers, then ends as Canceled.
  if (result.status === 'cancelled' && CancellationScope.current().consideredCancelled && patched(CLEAN_CANCEL_PATCH)) {
    await CancellationScope.nonCancellable(async () => {
      await recordResult(result);
      await condition(allHandlersFinished);
    });
    throw new CancelledFailure(result.reason ?? 'cancelled');
  }
  if (!recordedByWorker) await recordResult(result);
  // Updates and signals that arrived at the very end finish before the workflow does.
  await condition(allHandlersFinished);
  return result;

  /** Runs until the task passes, fails its test, is cancelled, or leaves the dead letter queue. */
  async function lifecycle(): Promise<TestTaskResult> {
    for (;;) {
      if (state.status !== 'dead_lettered') {
        const outcome = await runOnce();
        const retentionS = state.spec.deadLetterRetentionSeconds;
        if (outcome.status !== 'error' || retentionS === 0) return outcome;
        log({ action: 'dead-letter', category: outcome.category, reason: `parked in the dead letter queue: ${outcome.reason ?? 'no option left'}` });
        state.parked = { ...outcome, status: 'dead_lettered', recoveryLog: [...state.recoveryLog] };
        state.parkedAtMs = Date.now();
        setStatus('dead_lettered', { category: outcome.category });
        upsertSearchAttributes([{ key: DtfParkedAt, value: new Date(state.parkedAtMs) }]);
        // A notification that cannot be sent never changes the task's outcome.
        await tryControl(() =>
          controlAs('notify: dead-lettered').notifyDeadLettered({ workflowId, task: state.spec.name, category: outcome.category ?? 'UNKNOWN_ERROR', reason: outcome.reason ?? 'no option left', hostId: outcome.hostId }),
        );
        await recordResult(state.parked);
      }
      const parked = state.parked!;
      const remainingMs = state.spec.deadLetterRetentionSeconds * 1000 - (Date.now() - (state.parkedAtMs ?? Date.now()));
      let decided: boolean;
      try {
        decided = await condition(() => operatorDecision !== undefined || historyFull(), Math.max(0, remainingMs), {
          summary: `dead-lettered (${parked.category ?? 'no option left'}): waiting for dtf dlq redrive or discard`,
        });
      } catch (err) {
        if (isCancellation(err) && patched(CLEAN_CANCEL_PATCH)) return cancelled({ ...failureFields(), category: parked.category, reason: `cancelled while dead-lettered: ${parked.reason}` }).result;
        throw err;
      }
      if (!operatorDecision && decided) await continueAsNewWithState();
      const decision = operatorDecision;
      operatorDecision = undefined;
      if (!decision) {
        log({ action: 'expire', reason: `no redrive within the dead-letter retention of ${state.spec.deadLetterRetentionSeconds} s` });
        return finish('expired', { ...failureFields(), category: parked.category, reason: `expired in the dead letter queue: ${parked.reason}` });
      }
      if (!decision.redrive) {
        log({ action: 'discard', reason: decision.reason });
        return finish('discarded', { ...failureFields(), category: parked.category, reason: `discarded: ${decision.reason}` });
      }
      log({ action: 'redrive', reason: decision.reason });
      state.parked = undefined;
      state.parkedAtMs = undefined;
      state.runStart = state.placements.length;
      state.excludedHosts = [];
      state.triedClasses = [];
      state.testRuns = undefined;
      state.flakyRerunsUsed = undefined;
      state.status = 'queued';
    }
  }

  /** One run of the task: attempts until it passes, fails its test, is cancelled, or has no option left (`error`). */
  async function runOnce(): Promise<TestTaskResult> {
    if (placementsUsed(state) === 0) {
      const init = initialPlacement(state.spec);
      if (!init.ok) {
        log({ action: 'fail', category: 'TEST_CONFIGURATION_ERROR', reason: init.reason });
        return finish('error', { reason: init.reason, category: 'TEST_CONFIGURATION_ERROR' });
      }
      place(init.placement);
      // `dtf submit` starts the workflow with these search attributes already; a redrive or an older client may not.
      const started = workflowInfo().typedSearchAttributes;
      const alreadySet = state.placements.length === 1 && started.get(DtfStatus) === 'queued' && started.get(DtfQueue) === init.placement.queue;
      if (!(alreadySet && (input.startAttributes === true || patched(SKIP_INITIAL_UPSERT_PATCH)))) setStatus('queued');
      else state.status = 'queued';
    }
    for (;;) {
      if (state.pendingMove) {
        const outcome = await applyMove();
        if (outcome.done) return outcome.result;
        continue;
      }
      if (state.retryDelayMs) {
        const delay = state.retryDelayMs;
        state.retryDelayMs = undefined;
        // An operator move cuts the backoff short; a cancel of the workflow ends it.
        try {
          const seen = wake;
          await condition(() => wake !== seen && state.pendingMove !== undefined, delay, { summary: `backoff before attempt ${state.attempts + 1}${state.lastFailure ? ` (${state.lastFailure.category})` : ''}` });
        } catch (err) {
          if (isCancellation(err)) return cancelled().result;
          throw err;
        }
        if (state.pendingMove) continue;
      }
      if (historyFull()) await continueAsNewWithState();
      const outcome = await attempt(current(state)!);
      if (outcome.done) return outcome.result;
    }
  }

  /** One attempt on a placement, with the waits it allows: for a live host to exist, and the queue deadline. */
  async function attempt(placement: Placement): Promise<Outcome> {
    const spec = state.spec;
    const setupS = spec.setup.reduce((sum, s) => sum + s.timeoutSeconds * (s.teardown ? 2 : 1), 0);
    const acts = proxyActivities<TaskActivities>({
      taskQueue: placement.queue,
      // The whole attempt under one budget: setup steps, the command, teardowns, plus a margin for the rest.
      startToCloseTimeout: (setupS + spec.timeoutSeconds + ATTEMPT_MARGIN_S) * 1000,
      heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
      // No schedule-to-start timeout: waiting behind busy hosts is not failing (the fleet watch tells when nobody can take it).
      // One retry layer: the workflow carries out every retry, timeouts included, by the category's policy.
      retry: { maximumAttempts: 1 },
      // The process must be stopped (and its host cleaned) before the task runs anywhere else.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      summary: attemptSummary(state.attempts + 1, placement),
    });
    state.attemptInPlacement += 1;
    const attemptScope = new CancellationScope();
    scope = attemptScope;
    interruption = undefined;
    const watchScope = new CancellationScope();
    const scheduledAt = Date.now();
    const waits = watchScope.run(() => watchWhileWaiting(placement, scheduledAt)).catch((err) => {
      if (!isCancellation(err)) throw err;
    });
    // The first attempt of a task with no history yet: if it passes, that ends the task, and its worker can write the record.
    const firstAttempt = state.attempts === 0 && state.placements.length === 1 && state.recoveryLog.length === 0 && !state.testRuns?.length;
    const recordOnPass = firstAttempt ? { runId: info.runId, batchId: state.batchId, labels: spec.labels, startedAtMs: state.startedAtMs } : undefined;
    // A checkpoint an earlier attempt carried out (from any host): this attempt starts from it.
    const checkpoint = state.checkpoint && patched(CHECKPOINTS_PATCH) ? state.checkpoint : undefined;
    if (checkpoint) log({ action: 'resume', attempt: state.attempts + 1, reason: `resumed from ${describeCheckpoint(checkpoint)}` });
    try {
      const ok = await attemptScope.run(() =>
        acts.runTestTask({ spec, placement, placementIndex: state.placements.length, attemptInPlacement: state.attemptInPlacement, attempt: state.attempts + 1, workflowId, recordOnPass, ...(checkpoint ? { checkpoint } : {}) }),
      );
      absorb(ok.carry, ok.hostId);
      state.attempts += 1;
      recordedByWorker = ok.recorded === true;
      state.currentHost = ok.hostId;
      if (ok.tests) (state.testRuns ??= []).push({ host: ok.hostId, tests: ok.tests });
      if (ok.compensation.some((c) => !c.ok)) logCompensation(ok.compensation, ok.hostId);
      return { done: true, result: finish('passed', { exitCode: 0, hostId: ok.hostId, outputTail: ok.outputTail }) };
    } catch (err) {
      return await afterFailure(err, placement);
    } finally {
      scope = undefined;
      state.noEligibleHostSinceMs = undefined;
      watchScope.cancel();
      await waits;
    }
  }

  /**
   * Waits that apply while an attempt has not been seen to start: once the fleet watch says no live host can take
   * it, the placement timeout; and, if the user set one, the task's total queue deadline.
   */
  async function watchWhileWaiting(placement: Placement, scheduledAt: number): Promise<void> {
    const queueBudgetMs = state.spec.queueTimeoutSeconds !== undefined ? state.spec.queueTimeoutSeconds * 1000 - state.queuedMs : undefined;
    const deadline = queueBudgetMs !== undefined ? scheduledAt + Math.max(0, queueBudgetMs) : undefined;
    try {
      for (;;) {
        const left = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
        const noHostNow = () => state.noEligibleHostSinceMs !== undefined && state.status !== 'running';
        const noHost = left === undefined ? (await condition(noHostNow), true) : await condition(noHostNow, left, { summary: `queue deadline: ${state.spec.queueTimeoutSeconds} s on ${placement.queue} (queueTimeoutSeconds)` });
        if (!noHost) {
          if (await attemptStarted()) return;
          interrupt({ kind: 'queue-timeout' });
          return;
        }
        const since = state.noEligibleHostSinceMs!;
        const seen = wake;
        // A host that recovery chose and that is gone is no reason to wait: another host of the class is looked for.
        const graceMs = placement.hostId && !placement.pinned ? 0 : state.spec.placementTimeoutSeconds * 1000;
        const giveUpAt = since + graceMs;
        await condition(() => wake !== seen && state.noEligibleHostSinceMs === undefined, Math.max(0, Math.min(giveUpAt, deadline ?? Infinity) - Date.now()), {
          summary: `no live host for ${placement.queue}: waiting ${graceMs / 1000} s for one (placementTimeoutSeconds)`,
        });
        if (state.noEligibleHostSinceMs === undefined) continue; // a host is back
        if (await attemptStarted()) return;
        if (deadline !== undefined && Date.now() >= deadline) {
          interrupt({ kind: 'queue-timeout' });
          return;
        }
        // One look at the fleet before giving up; a failed look keeps the fleet watch's word.
        const check = await tryControl(() => controlAs(`look at the fleet for ${placement.queue}`).watchQueue({ workflowId, queue: placement.queue }));
        if (check.ok && check.value.eligibleHosts.length > 0) {
          state.noEligibleHostSinceMs = undefined;
          continue;
        }
        interrupt({ kind: 'no-eligible-host', message: `no live host could take work from ${placement.queue} for ${state.spec.placementTimeoutSeconds} s` });
        return;
      }
    } finally {
      if (state.status !== 'running') state.queuedMs += Date.now() - scheduledAt;
    }
  }

  async function attemptStarted(): Promise<boolean> {
    if (state.status === 'running') return true;
    const check = await tryControl(() => controlAs('has the attempt started?').watchQueue({ workflowId, queue: current(state)!.queue }));
    return check.ok && check.value.started;
  }

  /** After an attempt failed or was interrupted: retry in place, move on, or end the task. */
  async function afterFailure(err: unknown, placement: Placement): Promise<Outcome> {
    const why = interruption;
    interruption = undefined;
    absorb(carryFrom(err));
    if (isCancellation(err) && why?.kind === 'move') {
      state.attempts += 1;
      return { done: false }; // the loop applies state.pendingMove
    }
    if (isCancellation(err) && why?.kind === 'queue-timeout') {
      const reason = `waited ${state.spec.queueTimeoutSeconds} s on queues without starting (queueTimeoutSeconds)`;
      log({ action: 'queue-timeout', reason });
      return { done: true, result: finish('expired', { ...failureFields(), reason }) };
    }
    if (isCancellation(err) && why?.kind === 'no-eligible-host') {
      return decide({ category: 'HARDWARE_AVAILABILITY_ERROR', kind: 'resource', rule: 'no-eligible-host', hostId: placement.hostId, notPickedUp: true, message: why.message }, placement);
    }
    if (isCancellation(err)) return cancelled();
    state.attempts += 1;
    const facts = factsFrom(err, placement);
    if (facts.meta?.tests) (state.testRuns ??= []).push({ host: facts.hostId, tests: facts.meta.tests });
    logCompensation(facts.meta?.compensation, facts.hostId);
    if (facts.hostId) state.currentHost = facts.hostId;
    state.lastFailure = { category: facts.category, exitCode: facts.meta?.exitCode ?? null, outputTail: facts.meta?.outputTail ?? '', report: facts.report, message: facts.message };
    const policy = facts.meta?.policy ?? policyFor(facts.category, facts.kind, {}, state.spec.retry);
    const fromActivity = facts.meta ? { retryInPlace: facts.meta.retryInPlace, delayMs: facts.meta.delayMs } : undefined;
    const inPlace = retryDecision(facts, policy, state.attemptInPlacement, fromActivity, Math.random);
    if (inPlace.retryInPlace) {
      log({ action: 'retry-in-place', attempt: state.attempts, hostId: facts.hostId, category: facts.category, kind: facts.kind, rule: facts.rule, delayMs: inPlace.delayMs, reason: facts.message });
      state.retryDelayMs = inPlace.delayMs;
      setStatus('retrying', { category: facts.category });
      return { done: false };
    }
    return decide(facts, placement);
  }

  /** The recovery decision once retrying in place is over. */
  async function decide(facts: Facts, placement: Placement): Promise<Outcome> {
    const policy = facts.meta?.policy ?? policyFor(facts.category, facts.kind, {}, state.spec.retry);
    const step = decideRecovery(facts, policy, { ...placementState(state), current: placement }, state.spec);
    if (step.action === 'record-test-failure' && (state.flakyRerunsUsed ?? 0) < state.spec.flakyReruns) return flakyRerun(facts, placement);
    if (step.action === 'record-test-failure') {
      log({ action: 'record-test-failure', attempt: state.attempts, hostId: facts.hostId, category: facts.category, kind: facts.kind, rule: facts.rule, reason: step.reason });
      return { done: true, result: finish('failed', { ...failureFields(), reason: facts.message, hostId: facts.hostId }) };
    }
    return applyStep(step, facts);
  }

  /**
   * A test failure with reruns left: run again, on another host of the class where one exists, so that a case that
   * fails on one host and passes on another tells a flaky test, or a bad host, from a broken test.
   */
  async function flakyRerun(facts: Facts, placement: Placement): Promise<Outcome> {
    state.flakyRerunsUsed = (state.flakyRerunsUsed ?? 0) + 1;
    const why = `test failure (${facts.rule}): rerun ${state.flakyRerunsUsed} of ${state.spec.flakyReruns}`;
    let to: Placement = placement;
    if (!state.spec.host) {
      const queue = classQueueOf(placement, state.spec);
      const live = await tryControl(() => controlAs(`another live host on ${queue} for the rerun`).listQueueHosts(queue));
      const other = live.ok ? pickHost(live.value, [...state.excludedHosts, ...(facts.hostId ? [facts.hostId] : [])], state.spec) : undefined;
      to = other ? { ...hostPlacement(placement.hwClass, other.hostId), tierGb: placement.tierGb } : { ...placement, queue, hostId: undefined, pinned: undefined };
    }
    log({ action: 'flaky-rerun', attempt: state.attempts, hostId: facts.hostId, category: facts.category, rule: facts.rule, to: to.queue, reason: `${why}${to.hostId ? ` on ${to.hostId}` : ''}` });
    place(to);
    setStatus('retrying', { category: facts.category });
    return { done: false };
  }

  /** Writes the task's record to the results store; the outcome stays in Temporal whatever happens to the write. */
  async function recordResult(result: TestTaskResult): Promise<void> {
    if (!patched(RESULTS_STORE_PATCH)) return;
    const record = taskRecordModule().taskRecordFromResult(result, {
      batchId: state.batchId,
      labels: state.spec.labels,
      startedAt: new Date(state.startedAtMs).toISOString(),
      endedAt: new Date().toISOString(),
      runId: workflowInfo().runId,
      tests: result.tests,
      deadLettered: result.status === 'dead_lettered' || state.recoveryLog.some((e) => e.action === 'dead-letter'),
    });
    const written = await tryControl(() => results.recordTaskResult(record));
    if (!written.ok) log({ action: 'results-store', reason: `the task's record was not written: ${written.error}` });
  }

  /** An operator's move (reassign, report-failure), taken from the state and carried out. */
  async function applyMove(): Promise<Outcome> {
    const move = state.pendingMove!;
    state.pendingMove = undefined;
    const placement = current(state)!;
    const step: RecoveryStep =
      move.to === 'find-host'
        ? { action: 'find-host', queue: classQueueOf(placement, state.spec), hwClass: placement.hwClass, reason: move.reason, excludeHost: move.excludeHost }
        : { action: 'move', to: move.to, reason: move.reason };
    return applyStep(step, { category: move.category, hostId: state.currentHost }, move.action);
  }

  /** Carries out a recovery step: a re-placement, or the end of the task. */
  async function applyStep(step: RecoveryStep, facts: Partial<Facts>, byOperator?: 'reassign' | 'report-failure'): Promise<Outcome> {
    const about = { ...(byOperator || state.attempts === 0 ? {} : { attempt: state.attempts }), hostId: facts.hostId, category: facts.category, kind: facts.kind, rule: facts.rule };
    if (step.action === 'fail' || step.action === 'record-test-failure') {
      log({ action: 'fail', ...about, reason: step.reason });
      return { done: true, result: finish('error', { ...failureFields(), category: facts.category ?? state.lastFailure?.category, reason: step.reason }) };
    }
    if (step.excludeHost && !state.excludedHosts.includes(step.excludeHost)) {
      state.excludedHosts.push(step.excludeHost);
      // A lost heartbeat may be the server's or the network's, not the host's: remember when, to tell later.
      if (facts.rule === 'heartbeat-timeout') (state.heartbeatLost ??= []).push({ hostId: step.excludeHost, atMs: Date.now() });
    }
    if (step.action === 'move') {
      const from = current(state)!;
      const action = byOperator ? 'move' : step.to.hwClass !== from.hwClass ? 'fallback' : step.to.tierGb !== from.tierGb && !step.to.hostId ? 'bigger-gpu' : 'relocate';
      log({ action, ...about, to: step.to.queue, reason: step.reason });
      place(step.to);
      setStatus('retrying');
      return { done: false };
    }
    // find-host: a live host on the class queue, not excluded, not the one that just failed. If the fleet cannot be
    // read, the class queue itself is the place: any live host there will take it.
    const avoid = [...state.excludedHosts, ...(facts.hostId ? [facts.hostId] : [])];
    let live = await tryControl(() => controlAs(`live hosts on ${step.queue}`).listQueueHosts(step.queue));
    let host = live.ok ? pickHost(live.value, avoid, state.spec) : undefined;
    // Nobody: right after a server restart the poller lists fill again within seconds, and the hosts whose
    // heartbeats the outage cut are alive (they poll again). Look a few more times before giving up on the class.
    if (live.ok && !host && patched(FIND_HOST_PATIENCE_PATCH)) {
      for (let look = 1; look <= FIND_HOST_LOOKS && live.ok && !host; look += 1) {
        host = live.ok ? aliveAgain(live.value) : undefined;
        if (host) break;
        await sleep(FIND_HOST_LOOK_MS, { summary: `looking for a live host on ${step.queue}` });
        live = await tryControl(() => controlAs(`live hosts on ${step.queue}`).listQueueHosts(step.queue));
        host = live.ok ? (pickHost(live.value, avoid, state.spec) ?? aliveAgain(live.value)) : undefined;
      }
      if (host && state.excludedHosts.includes(host.hostId)) {
        state.excludedHosts = state.excludedHosts.filter((h) => h !== host!.hostId);
        log({ action: 'host-back', hostId: host.hostId, reason: `host ${host.hostId} polled again after its heartbeat was lost: the loss was not the host's` });
      }
    }
    if (host || !live.ok) {
      const to: Placement = host ? { ...hostPlacement(step.hwClass, host.hostId), tierGb: current(state)!.tierGb } : { ...current(state)!, queue: step.queue, hostId: undefined, pinned: undefined };
      log({ action: 'relocate', ...about, to: to.queue, reason: live.ok ? step.reason : `${step.reason}; host discovery failed (${live.error}), so back to ${step.queue}` });
      place(to);
      setStatus('retrying');
      return { done: false };
    }
    return applyStep(fallbackStep(state.spec, placementState(state), `${step.reason}; no other live host on ${step.queue}`), facts);
  }

  /** A host excluded only for a lost heartbeat, seen polling since: alive, so the loss was not the host's. */
  function aliveAgain<H extends { hostId: string; lastSeenMs?: number; computeCapability: number }>(hosts: H[]): H | undefined {
    const back = hosts.filter((h) => state.heartbeatLost?.some((l) => l.hostId === h.hostId && (h.lastSeenMs ?? 0) > l.atMs));
    return pickHost(back, [], state.spec);
  }

  function place(next: Placement) {
    state.placements.push(next);
    state.attemptInPlacement = 0;
    state.noEligibleHostSinceMs = undefined;
    state.waitingReason = undefined;
    if (!state.triedClasses.includes(next.hwClass)) state.triedClasses.push(next.hwClass);
    if (next.hostId) state.currentHost = next.hostId;
  }

  function cancelled(fields: Partial<TestTaskResult> = { reason: 'cancelled' }): { done: true; result: TestTaskResult } {
    log({ action: 'cancelled', reason: 'the workflow was cancelled' });
    return { done: true, result: finish('cancelled', fields) };
  }

  /** An attempt's checkpoint and artifacts, however it ended; a checkpoint it could not restore is logged. */
  function absorb(carry: AttemptCarry | undefined, hostId?: string) {
    absorbCarry(state, carry);
    if (carry?.restoreError) log({ action: 'resume-failed', hostId, reason: `${carry.restoreError}; it ran from the beginning` });
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

  function failureFields(): Partial<TestTaskResult> {
    const last = state.lastFailure;
    return { category: last?.category, exitCode: last?.exitCode ?? null, outputTail: last?.outputTail ?? '', report: last?.report };
  }

  function finish(final: TaskStatus, fields: Partial<TestTaskResult> & { reason?: string }): TestTaskResult {
    const hostId = fields.hostId ?? state.currentHost;
    setStatus(final, { host: hostId, category: fields.category });
    const placement = current(state);
    const tests = state.testRuns?.length ? testResultsModule().mergeAttempts(state.testRuns, { quarantine: state.spec.quarantinedTests }) : undefined;
    return {
      name: state.spec.name,
      workflowId,
      status: final,
      exitCode: null,
      durationMs: Date.now() - state.startedAtMs,
      hwClass: placement?.hwClass ?? state.spec.hardware.class,
      queue: placement?.queue ?? '',
      outputTail: '',
      attempts: state.attempts,
      placements: state.placements,
      recoveryLog: state.recoveryLog,
      ...(tests ? { tests } : {}),
      ...(state.artifacts?.length ? { artifacts: state.artifacts } : {}),
      ...(state.artifactsSkipped?.length ? { artifactsSkipped: state.artifactsSkipped } : {}),
      ...(state.checkpoint ? { checkpoint: withoutBytes(state.checkpoint) } : {}),
      ...fields,
      hostId,
    };
  }

  function historyFull(): boolean {
    const now = workflowInfo();
    return now.continueAsNewSuggested || now.historyLength >= historyLimit;
  }

  /** The one boundary where a long-lived task starts a fresh history: between attempts, or while parked. */
  async function continueAsNewWithState(): Promise<never> {
    await condition(allHandlersFinished);
    log({ action: 'continue-as-new', reason: `history at ${workflowInfo().historyLength} events: continuing in a new run with the task's state` });
    return continueAsNew<typeof testTaskWorkflow>({ spec: state.spec, batchId: state.batchId, resume: state, historyLimit: input.historyLimit });
  }
}

/** Reads an activity failure: ApplicationFailure{type: category, details: [report, meta]} or a timeout. */
function factsFrom(err: unknown, placement: Placement): Facts {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const [report, meta] = (cause.details ?? []) as [unknown, FailureMeta | undefined];
      const category = cause.type ?? 'UNKNOWN_ERROR';
      return { category, kind: (meta?.kind as ErrorKind) ?? kindOf(category), rule: meta?.rule ?? 'unknown', hostId: meta?.hostId, hostGpuMemoryGb: meta?.gpuMemoryGb, message: cause.message, meta, report };
    }
    if (cause instanceof TimeoutFailure) {
      const beat = (cause.lastHeartbeatDetails ?? undefined) as AttemptHeartbeat | undefined;
      if (cause.timeoutType === TimeoutType.HEARTBEAT) {
        return {
          category: 'WORKER_CRASH_ERROR',
          kind: 'resource',
          rule: 'heartbeat-timeout',
          hostId: beat?.hostId ?? placement.hostId,
          hostGpuMemoryGb: beat?.gpuMemoryGb,
          message: `worker ${beat?.hostId ?? '?'} stopped heartbeating (crashed or lost)`,
        };
      }
      return { category: 'NETWORK_TIMEOUT_ERROR', kind: 'transient', rule: 'activity-timeout', hostId: beat?.hostId ?? placement.hostId, message: `activity timed out (${cause.timeoutType})` };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { category: 'UNKNOWN_ERROR', kind: 'transient', rule: 'unrecognised-workflow-error', message };
}

/** What an attempt that did not pass carried out: in its failure's meta, its last heartbeat, or its cancellation. */
function carryFrom(err: unknown): AttemptCarry | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return ((cause.details ?? [])[1] as FailureMeta | undefined)?.carry;
  if (cause instanceof TimeoutFailure) return (cause.lastHeartbeatDetails as AttemptHeartbeat | undefined)?.carry;
  if (cause instanceof CancelledFailure) return cause.details?.[0] as AttemptCarry | undefined;
  return undefined;
}

function withoutBytes<C extends { inline?: string }>(c: C): Omit<C, 'inline'> {
  const { inline: _bytes, ...rest } = c;
  return rest;
}

function kindOf(category: string): ErrorKind {
  return (DEFAULT_KIND as Record<string, ErrorKind>)[category] ?? 'transient';
}
