/**
 * The per-category retry policy table as plain data, and the decisions over it: how long to back off, how often to
 * retry in place, what comes next. No schema library: the workflow imports this (the schemas live in policies.ts).
 */
import type { BuiltInCategory, ErrorKind } from './category-table';
import type { CategoryPolicy, NextAction, PolicyTableOverrides } from './policies';
import type { PolicyOverride } from './task-spec';

export const NEXT_ACTIONS = [
  /** another host of the same class (never one that failed with a host-attributed error) */
  'relocate',
  /** a bigger GPU tier after a GPU out-of-memory; otherwise like relocate */
  'bigger-gpu',
  /** the task's own test failed: record it, no infrastructure retry */
  'record-test-failure',
  /** stop: the spec, config or environment is wrong, or nothing can help */
  'fail',
] as const;

const p = (
  initialDelayMs: number,
  backoffCoefficient: number,
  maxDelayMs: number,
  jitter: number,
  maxAttemptsInPlace: number,
  then: NextAction,
): CategoryPolicy => ({ initialDelayMs, backoffCoefficient, maxDelayMs, jitter, maxAttemptsInPlace, then });

export const DEFAULT_POLICIES: Record<BuiltInCategory, CategoryPolicy> = {
  RESOURCE_ALLOCATION_ERROR: p(5_000, 2, 60_000, 0.2, 2, 'bigger-gpu'),
  RESOURCE_CLEANUP_ERROR: p(1_000, 2, 30_000, 0.2, 3, 'relocate'),
  NETWORK_CONNECTION_ERROR: p(1_000, 2, 30_000, 0.3, 5, 'relocate'),
  NETWORK_TIMEOUT_ERROR: p(2_000, 2, 60_000, 0.3, 4, 'relocate'),
  HARDWARE_AVAILABILITY_ERROR: p(1_000, 2, 30_000, 0.2, 1, 'relocate'),
  HARDWARE_CAPABILITY_ERROR: p(0, 1, 0, 0, 1, 'relocate'),
  HARDWARE_PERFORMANCE_ERROR: p(1_000, 2, 30_000, 0.2, 1, 'relocate'),
  WORKER_DISCONNECTION_ERROR: p(1_000, 2, 30_000, 0.2, 1, 'relocate'),
  WORKER_CRASH_ERROR: p(1_000, 2, 30_000, 0.2, 1, 'relocate'),
  WORKER_OVERLOAD_ERROR: p(10_000, 2, 300_000, 0.3, 3, 'relocate'),
  TEST_EXECUTION_ERROR: p(0, 1, 0, 0, 1, 'record-test-failure'),
  TEST_DEPENDENCY_ERROR: p(0, 1, 0, 0, 1, 'fail'),
  TEST_CONFIGURATION_ERROR: p(0, 1, 0, 0, 1, 'fail'),
  UNKNOWN_ERROR: p(1_000, 2, 10_000, 0.2, 2, 'fail'),
};

/** Policy for categories a user added without a policy of their own, by kind. */
export const KIND_FALLBACK_POLICIES: Record<ErrorKind, CategoryPolicy> = {
  transient: p(1_000, 2, 30_000, 0.2, 3, 'relocate'),
  resource: p(5_000, 2, 60_000, 0.2, 2, 'relocate'),
  validation: p(0, 1, 0, 0, 1, 'fail'),
  permanent: p(0, 1, 0, 0, 1, 'fail'),
};

/** The policy in force: built-in default (or the kind's) ← deployment override ← the task's own override. */
export function policyFor(
  category: string,
  kind: ErrorKind,
  deployment: PolicyTableOverrides = {},
  task: Record<string, PolicyOverride> = {},
): CategoryPolicy {
  const base = (DEFAULT_POLICIES as Record<string, CategoryPolicy>)[category] ?? KIND_FALLBACK_POLICIES[kind];
  return { ...base, ...deployment[category], ...task[category] };
}

/** Exponential backoff with ±jitter; `random` is injected so that tests and the workflow stay deterministic. */
export function backoffDelayMs(policy: CategoryPolicy, attempt: number, random: () => number = Math.random): number {
  const raw = policy.initialDelayMs * Math.pow(policy.backoffCoefficient, Math.max(0, attempt - 1));
  const capped = Math.min(raw, policy.maxDelayMs);
  const jittered = capped * (1 + policy.jitter * (2 * random() - 1));
  return Math.max(0, Math.round(jittered));
}

export interface InPlaceDecision {
  retryInPlace: boolean;
  delayMs: number;
}

/**
 * What the activity tells Temporal after attempt `attempt` failed: retry here after `delayMs`, or stop (nonRetryable)
 * and let the workflow decide. `permanent` and `validation` kinds never retry in place, whatever the table says.
 */
export function inPlaceDecision(policy: CategoryPolicy, kind: ErrorKind, attempt: number, random?: () => number): InPlaceDecision {
  const retryInPlace = kind !== 'permanent' && kind !== 'validation' && attempt < policy.maxAttemptsInPlace;
  return { retryInPlace, delayMs: retryInPlace ? backoffDelayMs(policy, attempt, random) : 0 };
}
