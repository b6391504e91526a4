/**
 * The error taxonomy as plain data: 14 categories (what went wrong), 4 kinds (how recovery treats it), and the
 * tables over them. No schema library: the workflow imports this, and each workflow run evaluates its imports anew.
 */
export const ERROR_CATEGORIES = [
  'RESOURCE_ALLOCATION_ERROR',
  'RESOURCE_CLEANUP_ERROR',
  'NETWORK_CONNECTION_ERROR',
  'NETWORK_TIMEOUT_ERROR',
  'HARDWARE_AVAILABILITY_ERROR',
  'HARDWARE_CAPABILITY_ERROR',
  'HARDWARE_PERFORMANCE_ERROR',
  'WORKER_DISCONNECTION_ERROR',
  'WORKER_CRASH_ERROR',
  'WORKER_OVERLOAD_ERROR',
  'TEST_EXECUTION_ERROR',
  'TEST_DEPENDENCY_ERROR',
  'TEST_CONFIGURATION_ERROR',
  'UNKNOWN_ERROR',
] as const;

/** Built-in categories; users may add their own names through config, so a category is any identifier-like string. */
export type BuiltInCategory = (typeof ERROR_CATEGORIES)[number];
export const ErrorCategory = Object.fromEntries(ERROR_CATEGORIES.map((c) => [c, c])) as {
  readonly [K in BuiltInCategory]: K;
};

export const ERROR_KINDS = ['transient', 'resource', 'validation', 'permanent'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Default kind of each built-in category (a rule may override it, e.g. a SIGKILL crash is `resource`). */
export const DEFAULT_KIND: Record<BuiltInCategory, ErrorKind> = {
  RESOURCE_ALLOCATION_ERROR: 'resource',
  RESOURCE_CLEANUP_ERROR: 'transient',
  NETWORK_CONNECTION_ERROR: 'transient',
  NETWORK_TIMEOUT_ERROR: 'transient',
  HARDWARE_AVAILABILITY_ERROR: 'resource',
  HARDWARE_CAPABILITY_ERROR: 'resource',
  HARDWARE_PERFORMANCE_ERROR: 'resource',
  WORKER_DISCONNECTION_ERROR: 'transient',
  WORKER_CRASH_ERROR: 'permanent',
  WORKER_OVERLOAD_ERROR: 'resource',
  TEST_EXECUTION_ERROR: 'validation',
  TEST_DEPENDENCY_ERROR: 'validation',
  TEST_CONFIGURATION_ERROR: 'validation',
  UNKNOWN_ERROR: 'transient',
};

/** Categories whose failure is attributed to the host that saw it: never place the task back there. */
export const HOST_ATTRIBUTED_CATEGORIES: ReadonlySet<string> = new Set([
  'HARDWARE_AVAILABILITY_ERROR',
  'HARDWARE_CAPABILITY_ERROR',
  'HARDWARE_PERFORMANCE_ERROR',
  'WORKER_CRASH_ERROR',
  'WORKER_DISCONNECTION_ERROR',
]);

/** Categories that fault injection can make happen for real, safely (see activities/fault-injection.ts). */
export const INJECTABLE_CATEGORIES = [
  'NETWORK_CONNECTION_ERROR',
  'NETWORK_TIMEOUT_ERROR',
  'RESOURCE_ALLOCATION_ERROR',
  'WORKER_CRASH_ERROR',
  'TEST_EXECUTION_ERROR',
  'TEST_DEPENDENCY_ERROR',
] as const;
