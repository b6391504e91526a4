/**
 * dtf's own metrics, recorded through the Temporal SDK's metric meter (so they are served with the SDK's on the
 * worker's Prometheus endpoint), and fed to the live alert evaluator of this worker. With no metrics endpoint the
 * meter is the SDK's no-op one and only the alerts see the events.
 */
import { MetricMeter, MetricTags, noopMetricMeter } from '@temporalio/common';
import type { TaskRecord } from '../domain/task-record';
import type { BreakerState } from '../resilience/service-breakers';
import { AlertEvaluator } from './alerts';
import { BREAKER_STATE_VALUE, DTF_METRICS, DtfMetricKey, MetricDefinition } from './catalog';

type Instrument = { kind: 'counter'; add(v: number, tags?: MetricTags): void } | { kind: 'histogram'; record(v: number, tags?: MetricTags): void } | { kind: 'gauge'; set(v: number, tags?: MetricTags): void };

export interface GpuSample {
  index: number;
  model: string;
  temperatureC?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  /** 0 to 1. */
  utilization?: number;
}

const isInfraCategory = (c: string | undefined) => !!c && !c.startsWith('TEST_');

export class DtfMetrics {
  private readonly instruments = new Map<DtfMetricKey, Instrument>();

  constructor(
    private readonly meter: MetricMeter = noopMetricMeter,
    readonly alerts?: AlertEvaluator,
    private readonly now: () => number = Date.now,
  ) {}

  /** One settled task, as written to the results store. */
  taskSettled(record: Pick<TaskRecord, 'status' | 'hwClass' | 'durationMs' | 'attempts' | 'recoveryActions'>): void {
    const infraError = record.attempts.some((a) => a.outcome !== 'passed' && (a.outcome === 'lost' || isInfraCategory(a.category)));
    this.add('taskOutcomes', { status: record.status, hw_class: record.hwClass });
    this.record('taskDuration', Math.round(record.durationMs), { status: record.status, hw_class: record.hwClass });
    for (const r of record.recoveryActions) this.add('recoveryActions', { action: r.action });
    if (infraError) this.add('recoveryOutcomes', { outcome: record.status === 'passed' || record.status === 'failed' ? 'recovered' : 'unrecovered' });
    this.alerts?.taskSettled(this.now(), { status: record.status, infraError });
  }

  /** One attempt run on this host. `outcome` error: it ended neither passed nor as the test's own failure. */
  attemptEnded(a: { outcome: 'passed' | 'failed' | 'error' | 'cancelled'; hwClass: string; category?: string; kind?: string; gpuModel?: string }): void {
    this.add('attempts', { outcome: a.outcome, hw_class: a.hwClass });
    if (a.category) this.add('attemptFailures', { category: a.category, kind: a.kind ?? 'unknown', gpu_model: a.gpuModel ?? 'none' });
    if (a.outcome !== 'cancelled') this.alerts?.attemptEnded(this.now(), { error: a.outcome === 'error', category: a.category });
  }

  failover(cause: 'lost' | 'failed', ms: number): void {
    this.record('failoverLatency', Math.max(0, Math.round(ms)), { cause });
  }

  detection(cause: 'lost' | 'failed', ms: number): void {
    this.record('detectionLatency', Math.max(0, Math.round(ms)), { cause });
  }

  breakerChanged(service: string, state: BreakerState): void {
    this.set('breakerState', BREAKER_STATE_VALUE[state], { service });
  }

  quarantined(on: boolean): void {
    this.set('hostQuarantined', on ? 1 : 0, {});
  }

  connectionLost(): void {
    this.add('connectionEvents', { event: 'lost' });
    this.set('connected', 0, {});
    this.alerts?.connectionLost(this.now());
  }

  reconnected(downMs: number): void {
    this.add('connectionEvents', { event: 'reconnected' });
    this.record('reconnectDuration', Math.round(downMs), {});
    this.set('connected', 1, {});
    this.alerts?.reconnected(this.now());
  }

  reconnectFailed(): void {
    this.add('connectionEvents', { event: 'reconnect_failed' });
  }

  connected(): void {
    this.set('connected', 1, {});
  }

  alertFired(rule: string, severity: string): void {
    this.add('alertsFired', { rule, severity });
  }

  gpu(sample: GpuSample): void {
    const tags = { gpu: String(sample.index), model: sample.model };
    if (sample.temperatureC !== undefined) this.set('gpuTemperature', sample.temperatureC, tags);
    if (sample.memoryUsedBytes !== undefined) this.set('gpuMemoryUsed', Math.round(sample.memoryUsedBytes), tags);
    if (sample.memoryTotalBytes !== undefined) this.set('gpuMemoryTotal', Math.round(sample.memoryTotalBytes), tags);
    if (sample.utilization !== undefined) this.set('gpuUtilization', sample.utilization, tags);
  }

  simulatedGpus(n: number): void {
    this.set('gpusSimulated', n, {});
  }

  private add(key: DtfMetricKey, tags: MetricTags): void {
    const i = this.instrument(key, tags);
    if (i?.kind === 'counter') i.add(1, tags);
  }

  private record(key: DtfMetricKey, value: number, tags: MetricTags): void {
    const i = this.instrument(key, tags);
    if (i?.kind === 'histogram') i.record(value, tags);
  }

  private set(key: DtfMetricKey, value: number, tags: MetricTags): void {
    const i = this.instrument(key, tags);
    if (i?.kind === 'gauge') i.set(value, tags);
  }

  private instrument(key: DtfMetricKey, tags: MetricTags): Instrument | undefined {
    const d: MetricDefinition = DTF_METRICS[key];
    assertLabels(d, tags);
    let i = this.instruments.get(key);
    if (!i) {
      i =
        d.kind === 'counter'
          ? { kind: 'counter', add: bind(this.meter.createCounter(d.name, d.unit, d.help), 'add') }
          : d.kind === 'histogram'
            ? { kind: 'histogram', record: bind(this.meter.createHistogram(d.name, d.valueType ?? 'int', d.unit, d.help), 'record') }
            : { kind: 'gauge', set: bind(this.meter.createGauge(d.name, d.valueType ?? 'int', d.unit, d.help), 'set') };
      this.instruments.set(key, i);
    }
    return i;
  }
}

function bind<T extends object, K extends keyof T>(o: T, k: K): T[K] {
  return (o[k] as unknown as (...args: unknown[]) => unknown).bind(o) as T[K];
}

/** The labels a recording sets must be exactly its definition's: the catalog is what the dashboard and rules trust. */
export function assertLabels(d: MetricDefinition, tags: MetricTags): void {
  const keys = Object.keys(tags).sort();
  const want = [...d.labels].sort();
  if (keys.length !== want.length || keys.some((k, i) => k !== want[i])) {
    throw new Error(`metric ${d.name}: labels {${keys.join(', ')}} do not match its definition {${want.join(', ')}}`);
  }
}
