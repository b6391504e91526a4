/** What a test task workflow takes, records and returns. Plain data: crosses the workflow/activity/client boundaries. */
import type { LiveOutputSnapshot } from './live-output';
import type { ArtifactRecord, AttemptCarry, CheckpointRef, SkippedArtifact } from './artifacts';
import type { CategoryPolicy } from './policies';
import type { Placement } from './placement';
import type { TaskStatus } from './search-attributes';
import type { TestTaskSpec } from './task-spec';
import type { LastFailure, TaskState } from './task-state';
import type { TestsSummary } from './test-results';

export interface TestTaskInput {
  spec: TestTaskSpec;
  /** The batch this task belongs to (`dtf submit` run id), for listing. */
  batchId?: string;
  /** Set by continue-as-new: the task's whole state, carried into the new run. */
  resume?: TaskState;
  /** History events after which the task continues as new (default DEFAULT_HISTORY_LIMIT; tests set fewer). */
  historyLimit?: number;
  /**
   * Set by `dtf submit`: the start carries the task's initial search attributes, so the workflow does not write them
   * again. Said in the input rather than learnt from a patch: a patch marker comes with its own search-attribute
   * write (TemporalChangeVersion), the very visibility write this saves.
   */
  startAttributes?: true;
}

/** What the activity returns when the command exits 0. */
export interface CommandSuccess {
  /** The task's attempt number (across placements). */
  attempt: number;
  hostId: string;
  exitCode: 0;
  durationMs: number;
  outputTail: string;
  /** The attempt's undos (workspace, GPU lease, setup teardowns), run in reverse on this host. */
  compensation: CompensationRecord[];
  /** Per-case results from the task's JUnit report, when it names one. */
  tests?: TestsSummary;
  /** The worker wrote the task's record to the results store (recordOnPass): the workflow need not. */
  recorded?: boolean;
  /** The attempt's checkpoint and artifacts. */
  carry?: AttemptCarry;
}

/** Second entry of an ApplicationFailure's details (the first is the ErrorReport): what the workflow decides with. */
export interface FailureMeta {
  /** Attempt number on this placement (what maxAttemptsInPlace counts). */
  attempt: number;
  hostId: string;
  gpuMemoryGb: number;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  outputTail: string;
  kind: string;
  rule: string;
  policy: CategoryPolicy;
  retryInPlace: boolean;
  delayMs: number;
  compensation: CompensationRecord[];
  /** Per-case results from the task's JUnit report, when it names one. */
  tests?: TestsSummary;
  /** The attempt's checkpoint and artifacts. */
  carry?: AttemptCarry;
}

/** One undo run on the host when an attempt ended (see activities/saga.ts). */
export interface CompensationRecord {
  step: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/** Heartbeat details: what the workflow learns about an attempt whose worker died. */
export interface AttemptHeartbeat {
  attempt: number;
  hostId: string;
  gpuMemoryGb: number;
  pid?: number;
  elapsedMs: number;
  /** The attempt's newest output lines, for `dtf logs --follow` (see live-output.ts). */
  output?: LiveOutputSnapshot;
  /** The attempt's newest checkpoint and the artifacts copied so far: what survives a worker killed mid-run. */
  carry?: AttemptCarry;
}

export interface RecoveryLogEntry {
  /** Workflow time, ISO. */
  at: string;
  placement: number;
  attempt?: number;
  hostId?: string;
  queue: string;
  category?: string;
  kind?: string;
  rule?: string;
  /** retry-in-place | relocate | bigger-gpu | fallback | reassign | report-failure | record-test-failure | fail | lost */
  action: string;
  delayMs?: number;
  to?: string;
  reason: string;
}

export interface TestTaskResult {
  name: string;
  workflowId: string;
  status: TaskStatus;
  exitCode: number | null;
  durationMs: number;
  hostId?: string;
  hwClass: string;
  queue: string;
  outputTail: string;
  /** Activity attempts across all placements. */
  attempts: number;
  placements: Placement[];
  recoveryLog: RecoveryLogEntry[];
  category?: string;
  reason?: string;
  /** The last ErrorReport (see error-report.ts), when the task did not pass. */
  report?: unknown;
  /** Per-case results of the run and its reruns merged: failed, errored, skipped and flaky cases named (bounded). */
  tests?: TestsSummary;
  /** Files kept from the task's attempts (`artifacts:` in the spec), each in the artifact store. */
  artifacts?: ArtifactRecord[];
  /** Files the artifact globs matched that were not kept, and why (bounded). */
  artifactsSkipped?: SkippedArtifact[];
  /** The task's newest checkpoint (without its bytes). */
  checkpoint?: Omit<CheckpointRef, 'inline'>;
}

export interface TaskProgress {
  status: TaskStatus;
  placement?: Placement;
  placementsUsed: number;
  excludedHosts: string[];
  recoveryLog: RecoveryLogEntry[];
  /** While the task is dead-lettered: its last run's result, as an operator inspects it. */
  parked?: TestTaskResult;
  /** Why the task waits, when the workflow knows (e.g. no live host can take it). */
  waitingReason?: string;
  attempts?: number;
  /** The last failed attempt's error (category, message, error report), while the task goes on. */
  lastFailure?: LastFailure;
}
