/**
 * The whole state of one test task as one plain value, and the pure decisions over it that the workflow's message
 * handlers and main loop need. One value makes continue-as-new a one-liner and lets a test build any state by hand.
 */
import type { ArtifactRecord, CheckpointRef, SkippedArtifact } from './artifacts';
import type { ErrorKind } from './categories';
import type { HardwareClass } from './hardware';
import { FailureFacts, Placement, PlacementState } from './placement';
import type { CategoryPolicy } from './policies';
import { InPlaceDecision, inPlaceDecision } from './policy-table';
import type { TaskStatus } from './search-attributes';
import type { RecoveryLogEntry, TestTaskResult } from './task-result';
import type { TestTaskSpec } from './task-spec';
import type { AttemptTests } from './test-results';

/** A move an operator asked for, applied to the attempt running now or else to the next one. */
export interface PendingMove {
  to: Placement | 'find-host';
  action: 'reassign' | 'report-failure';
  reason: string;
  excludeHost?: string;
  category?: string;
}

export interface LastFailure {
  category: string;
  exitCode: number | null;
  outputTail: string;
  report?: unknown;
  message: string;
}

export interface TaskState {
  spec: TestTaskSpec;
  batchId?: string;
  status: TaskStatus;
  /** Every placement of the task, across runs (a redrive starts a new run). */
  placements: Placement[];
  /** Index of the first placement of the current run. */
  runStart: number;
  excludedHosts: string[];
  triedClasses: HardwareClass[];
  /** Attempts that reached a host (or were lost on one), across the task. */
  attempts: number;
  /** Attempts on the current placement; the category's maxAttemptsInPlace is checked against it. */
  attemptInPlacement: number;
  /** The next attempt waits this long first (a retry in place); carried over continue-as-new. */
  retryDelayMs?: number;
  recoveryLog: RecoveryLogEntry[];
  lastFailure?: LastFailure;
  /** The host the current or last attempt ran on. */
  currentHost?: string;
  pendingMove?: PendingMove;
  /** While dead-lettered: the run's result as an operator inspects it, and since when (epoch ms). */
  parked?: TestTaskResult;
  parkedAtMs?: number;
  /** Epoch ms of the workflow's first start: the task's duration survives continue-as-new. */
  startedAtMs: number;
  /** Queue time used so far against queueTimeoutSeconds. */
  queuedMs: number;
  /** Set while the fleet reports that no live host can take the current placement's work. */
  noEligibleHostSinceMs?: number;
  /** Why the task waits, for people (`dtf status`, the Web UI). */
  waitingReason?: string;
  /** Per-case results of each attempt of the current run that produced a report, in order (reruns included). */
  testRuns?: AttemptTests[];
  /** Reruns after a test failure used in the current run (`flakyReruns`). */
  flakyRerunsUsed?: number;
  /** Hosts excluded because a heartbeat was lost there, and when (epoch ms): one seen polling since is alive. */
  heartbeatLost?: { hostId: string; atMs: number }[];
  /** The newest checkpoint any attempt carried out: the next attempt, on any host, starts from it. */
  checkpoint?: CheckpointRef;
  /** Files kept from every attempt so far, and those the bounds skipped. */
  artifacts?: ArtifactRecord[];
  artifactsSkipped?: SkippedArtifact[];
}

export function initialTaskState(spec: TestTaskSpec, batchId: string | undefined, nowMs: number): TaskState {
  return {
    spec,
    batchId,
    status: 'queued',
    placements: [],
    runStart: 0,
    excludedHosts: [],
    triedClasses: [],
    attempts: 0,
    attemptInPlacement: 0,
    recoveryLog: [],
    startedAtMs: nowMs,
    queuedMs: 0,
  };
}

export const current = (s: TaskState): Placement | undefined => s.placements.at(-1);
export const placementsUsed = (s: TaskState): number => s.placements.length - s.runStart;

export function placementState(s: TaskState): PlacementState {
  return { current: current(s)!, placementsUsed: placementsUsed(s), excludedHosts: s.excludedHosts, triedClasses: s.triedClasses };
}

/** A task in one of these states takes operator moves; the others reject them with their status. */
const MOVABLE: readonly TaskStatus[] = ['queued', 'running', 'retrying'];
export function canMove(s: TaskState): { ok: true } | { ok: false; reason: string } {
  return MOVABLE.includes(s.status) ? { ok: true } : { ok: false, reason: `the task is ${s.status}` };
}

/**
 * What a host-failure report does: the host is excluded from now on; the task moves if the attempt running now (or
 * the one about to run, pinned to that host's queue) is there.
 */
export function reportFailureEffect(s: TaskState, hostId: string | undefined, attemptInFlight: boolean): { exclude?: string; move: boolean } {
  const placement = current(s);
  const onThatHost = !hostId || hostId === s.currentHost || hostId === placement?.hostId;
  if (!MOVABLE.includes(s.status)) return { exclude: hostId, move: false };
  const nextRunsThere = !attemptInFlight && !!placement?.hostId && placement.hostId === (hostId ?? s.currentHost);
  return { exclude: hostId ?? s.currentHost, move: (attemptInFlight && onThatHost) || nextRunsThere };
}

/**
 * After a failed attempt: retry on the same placement, or let decideRecovery re-place it. The activity decides with
 * the deployment's policies and sends the decision in its failure; a timeout (nothing came back) is decided here
 * with the same table.
 */
export function retryDecision(facts: FailureFacts, policy: CategoryPolicy, attemptInPlacement: number, fromActivity: InPlaceDecision | undefined, random: () => number): InPlaceDecision {
  if (fromActivity) return fromActivity;
  return inPlaceDecision(policy, facts.kind as ErrorKind, attemptInPlacement, random);
}

/** Events the workflow keeps before it continues as new (Temporal suggests ~4k; a test may set fewer). */
export const DEFAULT_HISTORY_LIMIT = 2_000;

/** The one line an attempt shows in the Web UI: its number and where it may run. */
export function attemptSummary(attempt: number, placement: Placement): string {
  return placement.hostId ? `attempt ${attempt} on host ${placement.hostId} (${placement.queue})` : `attempt ${attempt} on ${placement.queue} (any eligible host)`;
}

/**
 * What the Web UI shows as the task's current details (markdown): status, where, why it waits, the last error and
 * what an operator can do. Short: it is rewritten on every status change.
 */
export function currentDetailsOf(s: TaskState): string {
  const placement = current(s);
  const lines = [`**${s.status}** · ${s.spec.name} · attempt ${s.attempts}${placement ? ` · ${placement.queue}` : ''}${s.currentHost ? ` · host ${s.currentHost}` : ''}`];
  if (s.waitingReason && (s.status === 'queued' || s.status === 'retrying')) lines.push(s.waitingReason);
  if (s.lastFailure && s.status !== 'passed') lines.push(`last error: ${s.lastFailure.category}: ${s.lastFailure.message.split('\n')[0].slice(0, 160)}`);
  if (s.status === 'dead_lettered') lines.push('next: `dtf dlq show` this task, then `dtf dlq redrive` it (optionally `--spec FIXED.yaml`) or `dtf dlq discard` it');
  return lines.join('\n\n');
}
