/**
 * Every metric dtf itself exports: name, kind, labels and help, in one place, so that the code that records them,
 * the Prometheus alert rules and the Grafana dashboard (deploy/) are checked against one list. They are recorded
 * through the Temporal SDK's metric meter and served on the same endpoint as the SDK's own metrics
 * (`dtf worker --metrics-bind`). Every metric also carries the label `host` (the worker's host id, a global tag).
 * No label ever holds a task or workflow id: their number is unbounded.
 */

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  /** Labels the code sets (besides the global `host`); every recording must set exactly these. */
  labels: readonly string[];
  help: string;
  /** Histograms: bucket bounds (in the metric's unit). */
  buckets?: readonly number[];
  /** Histograms and gauges: what the value is in (also in the name). */
  unit?: string;
  valueType?: 'int' | 'float';
}

/** The label every dtf and SDK metric of a worker carries (Runtime global tag). */
export const HOST_LABEL = 'host';

const LATENCY_BUCKETS_MS = [100, 250, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000] as const;

const defs = {
  taskOutcomes: {
    name: 'dtf_task_outcomes',
    kind: 'counter',
    labels: ['status', 'hw_class'],
    help: 'Settled tasks by final status (passed, failed, error, dead_lettered, expired, discarded, cancelled) and hardware class, counted by the worker that wrote the task record (a task redriven from the dead letter queue counts again when it settles again)',
  },
  taskDuration: {
    name: 'dtf_task_duration_ms',
    kind: 'histogram',
    labels: ['status', 'hw_class'],
    help: 'Wall time of settled tasks, from start to settlement, in milliseconds',
    unit: 'ms',
    valueType: 'int',
    buckets: [1_000, 5_000, 15_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 14_400_000],
  },
  attempts: {
    name: 'dtf_task_attempts',
    kind: 'counter',
    labels: ['outcome', 'hw_class'],
    help: 'Attempts run on this host by outcome: passed, failed (the test ran and failed), error (anything else), cancelled',
  },
  attemptFailures: {
    name: 'dtf_attempt_failures',
    kind: 'counter',
    labels: ['category', 'kind', 'gpu_model'],
    help: 'Failed attempts on this host by error category, kind and GPU model (gpu_model "none" on a CPU host)',
  },
  recoveryActions: {
    name: 'dtf_recovery_actions',
    kind: 'counter',
    labels: ['action'],
    help: 'Recovery-log actions of settled tasks (retry-in-place, relocate, bigger-gpu, fallback, reassign, lost, dead-letter, ...)',
  },
  recoveryOutcomes: {
    name: 'dtf_recovery_outcomes',
    kind: 'counter',
    labels: ['outcome'],
    help: 'Settled tasks that hit at least one infrastructure error (any category but TEST_*): recovered (still reached a test verdict) or unrecovered',
  },
  failoverLatency: {
    name: 'dtf_failover_latency_ms',
    kind: 'histogram',
    labels: ['cause'],
    help: 'From the last sign of life of a failed attempt (its last heartbeat, or its failure) to the next attempt starting on another host, in milliseconds; cause lost (worker gone) or failed',
    unit: 'ms',
    valueType: 'int',
    buckets: LATENCY_BUCKETS_MS,
  },
  detectionLatency: {
    name: 'dtf_detection_latency_ms',
    kind: 'histogram',
    labels: ['cause'],
    help: 'From the last sign of life of a failed attempt to the server recording its failure (a heartbeat timeout for a lost worker), in milliseconds',
    unit: 'ms',
    valueType: 'int',
    buckets: LATENCY_BUCKETS_MS,
  },
  breakerState: {
    name: 'dtf_breaker_state',
    kind: 'gauge',
    labels: ['service'],
    help: 'Circuit breaker of each declared service on this host: 0 closed, 1 half-open, 2 open, 3 isolated',
    valueType: 'int',
  },
  hostQuarantined: {
    name: 'dtf_host_quarantined',
    kind: 'gauge',
    labels: [],
    help: '1 while this host has quarantined itself (takes no class-queue work), 0 otherwise; sum over hosts = quarantined hosts',
    valueType: 'int',
  },
  connectionEvents: {
    name: 'dtf_connection_events',
    kind: 'counter',
    labels: ['event'],
    help: "This worker's connection to the Temporal server: lost, reconnected, reconnect_failed (not back within alerts.reconnectFailed.afterMs)",
  },
  connected: {
    name: 'dtf_worker_connected',
    kind: 'gauge',
    labels: [],
    help: '1 while this worker reaches the Temporal server (its periodic connection check passes), 0 otherwise',
    valueType: 'int',
  },
  reconnectDuration: {
    name: 'dtf_reconnect_duration_ms',
    kind: 'histogram',
    labels: [],
    help: 'How long this worker was cut off from the Temporal server before it reconnected, in milliseconds',
    unit: 'ms',
    valueType: 'int',
    buckets: [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000],
  },
  alertsFired: {
    name: 'dtf_alerts_fired',
    kind: 'counter',
    labels: ['rule', 'severity'],
    help: 'Alerts the live evaluator of this worker fired (see alerts: in the deployment config)',
  },
  gpuTemperature: {
    name: 'dtf_gpu_temperature_celsius',
    kind: 'gauge',
    labels: ['gpu', 'model'],
    help: 'GPU core temperature (real GPUs only, from nvidia-smi through systeminformation)',
    unit: 'celsius',
    valueType: 'float',
  },
  gpuMemoryUsed: {
    name: 'dtf_gpu_memory_used_bytes',
    kind: 'gauge',
    labels: ['gpu', 'model'],
    help: 'GPU memory in use (real GPUs only)',
    unit: 'bytes',
    valueType: 'int',
  },
  gpuMemoryTotal: {
    name: 'dtf_gpu_memory_total_bytes',
    kind: 'gauge',
    labels: ['gpu', 'model'],
    help: 'GPU memory in all (real GPUs only)',
    unit: 'bytes',
    valueType: 'int',
  },
  gpuUtilization: {
    name: 'dtf_gpu_utilization_ratio',
    kind: 'gauge',
    labels: ['gpu', 'model'],
    help: 'GPU compute utilisation, 0 to 1 (real GPUs only)',
    valueType: 'float',
  },
  gpusSimulated: {
    name: 'dtf_gpus_simulated',
    kind: 'gauge',
    labels: [],
    help: 'GPUs this host advertises without having them (--simulate-gpu): no hardware gauges for those',
    valueType: 'int',
  },
} as const satisfies Record<string, MetricDefinition>;

export const DTF_METRICS: { readonly [K in keyof typeof defs]: MetricDefinition } = defs;
export type DtfMetricKey = keyof typeof defs;

/** Every dtf metric by name. */
export const DTF_METRIC_NAMES: ReadonlySet<string> = new Set(Object.values(DTF_METRICS).map((d) => d.name));

/** Names a PromQL expression may use for a metric: histograms add _bucket, _sum and _count. */
export function exportedSeriesNames(d: MetricDefinition): string[] {
  return d.kind === 'histogram' ? [`${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name];
}

/** Histogram buckets for the Runtime's Prometheus exporter (`histogramBucketOverrides`). */
export function histogramBuckets(): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const d of Object.values(DTF_METRICS)) if (d.kind === 'histogram' && d.buckets) out[d.name] = [...d.buckets];
  return out;
}

/** Breaker states as dtf_breaker_state values. */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2, isolated: 3 } as const;

/**
 * Metrics of the Temporal TypeScript SDK (Core) 1.24 that the dashboard and rules may use, as the worker serves
 * them (prefix `temporal_`, no `_total` suffix; histograms in milliseconds), read from a real scrape (the
 * *_failure, *_failed and *_miss series appear after their first such event).
 */
export const TEMPORAL_SDK_METRICS: ReadonlySet<string> = new Set([
  'temporal_request',
  'temporal_request_failure',
  'temporal_request_latency',
  'temporal_long_request',
  'temporal_long_request_failure',
  'temporal_long_request_latency',
  'temporal_num_pollers',
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
  'temporal_worker_start',
  'temporal_activity_execution_failed',
  'temporal_activity_execution_latency',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_succeed_endtoend_latency',
  'temporal_activity_poll_no_task',
  'temporal_activity_task_received',
  'temporal_workflow_completed',
  'temporal_workflow_failed',
  'temporal_workflow_continue_as_new',
  'temporal_workflow_endtoend_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_workflow_task_replay_latency',
  'temporal_workflow_task_queue_poll_succeed',
  'temporal_workflow_task_queue_poll_empty',
  'temporal_workflow_task_execution_failed',
  'temporal_sticky_cache_size',
  'temporal_sticky_cache_hit',
  'temporal_sticky_cache_miss',
  'temporal_local_activity_total',
  'temporal_local_activity_execution_latency',
]);

/** Metrics of the Temporal server (self-hosted or dev server `--metrics-port`) used by the dashboard and rules. */
export const TEMPORAL_SERVER_METRICS: ReadonlySet<string> = new Set([
  'service_requests',
  'service_latency',
  'service_error_with_type',
  'service_pending_requests',
  'persistence_requests',
  'persistence_latency',
  'persistence_error_with_type',
  'poll_success',
  'poll_success_sync',
  'poll_timeouts',
  'workflow_success',
  'workflow_failed',
  'approximate_backlog_count',
]);

/** Prometheus' own series (scrape health). */
export const PROMETHEUS_BUILTIN_METRICS: ReadonlySet<string> = new Set(['up', 'scrape_duration_seconds']);
