/**
 * What the results store keeps of one finished task: the task, each attempt with where it ran and how it ended, the
 * error reports' category/host/GPU/hardware status, the recovery actions, and the tests summary. Plain data, zod
 * validated, workflow-safe (no Node APIs): the workflow builds it and hands it to the `recordTaskResult` activity.
 */
import { z } from 'zod';
import type { RecoveryLogEntry, TestTaskResult } from './task-result';
import { TestsSummary } from './test-results';

const Iso = z.string().datetime({ offset: true });

/**
 * Bounds that keep a record (an activity input) far below Temporal's 2 MB payload limit: at most 500 attempts with
 * 500-char messages and 500 recovery actions with 500-char reasons (≈ 0.6 MB at the very worst with the tests
 * summary's ≈ 0.25 MB; a few KB typically). taskRecordFromResult keeps the LAST entries when there are more.
 */
export const MAX_RECORD_ATTEMPTS = 500;
export const MAX_RECORD_RECOVERY_ACTIONS = 500;
export const MAX_RECORD_TEXT = 500;
const Short = (max: number) => z.string().min(1).max(max);

export const HardwareStatusRecord = z.object({
  overheating: z.boolean(),
  memoryPressure: z.boolean(),
  throttling: z.boolean(),
  warnings: z.array(z.string().max(500)).max(50).default([]),
});
export type HardwareStatusRecord = z.infer<typeof HardwareStatusRecord>;

/** passed: the command exited 0; failed: it ran and failed its tests; error: infrastructure or setup failure; lost: the worker died. */
export const ATTEMPT_OUTCOMES = ['passed', 'failed', 'error', 'lost', 'cancelled'] as const;

export const AttemptRecord = z.object({
  /** 1-based, across all placements of the task, in order. */
  n: z.number().int().positive(),
  /** Which placement (1-based) and Temporal's attempt number within it. */
  placement: z.number().int().positive().optional(),
  attemptInPlacement: z.number().int().positive().optional(),
  host: Short(100).optional(),
  gpuModel: Short(200).optional(),
  queue: Short(200).optional(),
  outcome: z.enum(ATTEMPT_OUTCOMES),
  /** The error report's classification, when the attempt failed. */
  category: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
  kind: z.string().max(50).optional(),
  rule: z.string().max(200).optional(),
  /** The most in-place attempts the category's policy allowed on that placement (to see a recovery on its last try). */
  maxAttemptsInPlace: z.number().int().positive().optional(),
  message: z.string().max(MAX_RECORD_TEXT).optional(),
  exitCode: z.number().int().nullable().optional(),
  durationMs: z.number().finite().nonnegative().optional(),
  startedAt: Iso.optional(),
  hardwareStatus: HardwareStatusRecord.optional(),
});
export type AttemptRecord = z.infer<typeof AttemptRecord>;

export const RecoveryActionRecord = z.object({
  at: Iso,
  placement: z.number().int().nonnegative(),
  attempt: z.number().int().positive().optional(),
  host: Short(100).optional(),
  queue: z.string().max(200).optional(),
  category: z.string().max(100).optional(),
  /** retry-in-place | relocate | bigger-gpu | fallback | reassign | report-failure | record-test-failure | fail | lost | … */
  action: Short(50),
  to: z.string().max(200).optional(),
  delayMs: z.number().int().nonnegative().optional(),
  reason: z.string().max(MAX_RECORD_TEXT).default(''),
});
export type RecoveryActionRecord = z.infer<typeof RecoveryActionRecord>;

export const TaskRecord = z.object({
  workflowId: Short(300),
  runId: Short(100).optional(),
  task: Short(100),
  batchId: Short(64).optional(),
  /** The task's final status (TASK_STATUSES). */
  status: z.enum(['passed', 'failed', 'error', 'dead_lettered', 'discarded', 'expired', 'cancelled']),
  hwClass: Short(20),
  queue: z.string().max(200).optional(),
  /** The host of the last attempt. */
  host: Short(100).optional(),
  labels: z.record(z.string().max(200), z.string().max(500)).default({}),
  /** The last error's category and the task's reason, when it did not pass. */
  category: z.string().max(100).optional(),
  reason: z.string().max(2000).optional(),
  exitCode: z.number().int().nullable().optional(),
  startedAt: Iso,
  endedAt: Iso,
  durationMs: z.number().finite().nonnegative(),
  attempts: z.array(AttemptRecord).max(MAX_RECORD_ATTEMPTS).default([]),
  recoveryActions: z.array(RecoveryActionRecord).max(MAX_RECORD_RECOVERY_ACTIONS).default([]),
  /** The task spent time in the dead letter queue (dead_lettered now, or redriven later). */
  deadLettered: z.boolean().default(false),
  tests: TestsSummary.optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;
export type TaskRecordInput = z.input<typeof TaskRecord>;

/** Statuses that TaskRecord accepts: a task is recorded once it has settled. */
export const RECORDED_STATUSES = TaskRecord.shape.status.options;

export interface TaskRecordContext {
  batchId?: string;
  labels?: Record<string, string>;
  /** Workflow start and end times (workflow time, ISO). */
  startedAt: string;
  endedAt: string;
  runId?: string;
  tests?: TestsSummary;
  /** Set when the task went through the dead letter queue. */
  deadLettered?: boolean;
}

/**
 * A TaskRecord from today's TestTaskResult (a stub the workflow wiring refines): each recovery-log entry that names
 * an attempt is a failed attempt (its category, host and queue); a passed or failed task adds its last attempt. The
 * GPU model and hardware status come from the last error report (the result keeps only that one).
 */
export function taskRecordFromResult(result: TestTaskResult, ctx: TaskRecordContext): TaskRecordInput {
  const report = lastReport(result.report);
  const attempts: TaskRecordInput['attempts'] = [];
  const failing = result.recoveryLog.filter((e) => e.attempt !== undefined && e.category !== undefined && e.action !== 'reassign');
  let n = 0;
  for (const e of failing) {
    n += 1;
    attempts.push(
      compact({
        n,
        placement: e.placement > 0 ? e.placement : undefined,
        attemptInPlacement: e.attempt,
        host: e.hostId,
        queue: e.queue || undefined,
        outcome: outcomeOf(e),
        category: e.category,
        kind: e.kind,
        rule: e.rule,
      }),
    );
  }
  if (result.status === 'passed' || result.status === 'failed') {
    const last = attempts[attempts.length - 1];
    const lastIsFinal = result.status === 'failed' && last?.outcome === 'failed';
    if (!lastIsFinal) {
      attempts.push(compact({ n: n + 1, host: result.hostId, queue: result.queue || undefined, outcome: result.status, exitCode: result.exitCode, durationMs: result.durationMs }));
    }
  }
  const final = attempts[attempts.length - 1];
  if (final && report && (final.host === undefined || final.host === report.hostId)) {
    if (report.gpuModel) final.gpuModel = report.gpuModel;
    if (report.hardwareStatus) final.hardwareStatus = report.hardwareStatus;
    if (report.message) final.message = report.message.slice(0, MAX_RECORD_TEXT);
  }
  return compact({
    workflowId: result.workflowId,
    runId: ctx.runId,
    task: result.name,
    batchId: ctx.batchId,
    status: result.status as TaskRecord['status'],
    hwClass: result.hwClass,
    queue: result.queue || undefined,
    host: result.hostId,
    labels: ctx.labels ?? {},
    category: result.category,
    reason: result.reason?.slice(0, 2000),
    exitCode: result.exitCode,
    startedAt: ctx.startedAt,
    endedAt: ctx.endedAt,
    durationMs: result.durationMs,
    attempts: attempts.slice(-MAX_RECORD_ATTEMPTS),
    recoveryActions: result.recoveryLog.slice(-MAX_RECORD_RECOVERY_ACTIONS).map((e) =>
      compact({ at: e.at, placement: e.placement, attempt: e.attempt, host: e.hostId, queue: e.queue, category: e.category, action: e.action, to: e.to, delayMs: e.delayMs, reason: e.reason.slice(0, MAX_RECORD_TEXT) }),
    ),
    deadLettered: ctx.deadLettered ?? result.status === 'dead_lettered',
    tests: ctx.tests,
  });
}

function outcomeOf(e: RecoveryLogEntry): AttemptRecord['outcome'] {
  if (e.action === 'lost') return 'lost';
  if (e.action === 'record-test-failure') return 'failed';
  return 'error';
}

function lastReport(report: unknown): { hostId?: string; gpuModel?: string; hardwareStatus?: HardwareStatusRecord; message?: string } | undefined {
  if (!report || typeof report !== 'object') return undefined;
  const r = report as {
    ids?: { hostId?: string };
    message?: string;
    systemContext?: { gpus?: { name?: string }[] };
    hardwareStatus?: HardwareStatusRecord;
  };
  const hs = r.hardwareStatus;
  return {
    hostId: r.ids?.hostId,
    gpuModel: r.systemContext?.gpus?.[0]?.name,
    hardwareStatus: hs ? { overheating: !!hs.overheating, memoryPressure: !!hs.memoryPressure, throttling: !!hs.throttling, warnings: (hs.warnings ?? []).slice(0, 50) } : undefined,
    message: typeof r.message === 'string' ? r.message : undefined,
  };
}

function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
