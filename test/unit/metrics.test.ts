/** dtf's metrics recorder, the live alert rules, the connection watch and the latencies read from histories. */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { DeploymentConfig } from '../../src/config/deployment';
import { SpecError } from '../../src/domain/task-spec';
import { loadDeploymentConfig } from '../../src/config/deployment';
import { AlertEvaluator } from '../../src/metrics/alerts';
import { DTF_METRICS } from '../../src/metrics/catalog';
import { ConnectionWatch } from '../../src/metrics/connection-watch';
import { DtfMetrics } from '../../src/metrics/dtf-metrics';
import { attemptLatencies } from '../../src/metrics/latency';
import { metricsTelemetry, parseMetricsBind } from '../../src/metrics/worker-telemetry';
import { alertNotification } from '../../src/notifications/events';
import os from 'node:os';

/** A meter that keeps what is recorded, keyed "name{label=value,…}". */
function recordingMeter() {
  const values = new Map<string, number[]>();
  const created = new Map<string, { unit?: string; help?: string }>();
  const key = (name: string, tags: MetricTags = {}) => `${name}{${Object.keys(tags).sort().map((k) => `${k}=${tags[k]}`).join(',')}}`;
  const push = (name: string, v: number, tags?: MetricTags) => values.set(key(name, tags), [...(values.get(key(name, tags)) ?? []), v]);
  const meter = {
    createCounter: (name: string, unit?: string, help?: string) => (created.set(name, { unit, help }), { add: (v: number, t?: MetricTags) => push(name, v, t) }),
    createHistogram: (name: string, _vt?: string, unit?: string, help?: string) => (created.set(name, { unit, help }), { record: (v: number, t?: MetricTags) => push(name, v, t) }),
    createGauge: (name: string, _vt?: string, unit?: string, help?: string) => (created.set(name, { unit, help }), { set: (v: number, t?: MetricTags) => values.set(key(name, t), [v]) }),
  } as unknown as MetricMeter;
  const sum = (k: string) => (values.get(k) ?? []).reduce((a, b) => a + b, 0);
  return { meter, values, created, sum };
}

const record = (status: string, attempts: { outcome: 'passed' | 'failed' | 'error' | 'lost'; category?: string }[], actions: string[] = []) => ({
  status: status as 'passed',
  hwClass: 'cuda',
  durationMs: 1234.4,
  attempts: attempts.map((a, i) => ({ n: i + 1, ...a })),
  recoveryActions: actions.map((action) => ({ at: '2026-01-01T00:00:00Z', placement: 1, action, reason: '' })),
});

describe('DtfMetrics', () => {
  it('records every metric under its catalog name, help and labels', () => {
    const m = recordingMeter();
    const metrics = new DtfMetrics(m.meter);
    metrics.taskSettled(record('dead_lettered', [{ outcome: 'error', category: 'NETWORK_TIMEOUT_ERROR' }], ['retry-in-place', 'dead-letter']));
    metrics.taskSettled(record('passed', [{ outcome: 'lost', category: 'WORKER_CRASH_ERROR' }, { outcome: 'passed' }], ['lost']));
    metrics.taskSettled(record('failed', [{ outcome: 'failed', category: 'TEST_EXECUTION_ERROR' }]));
    metrics.attemptEnded({ outcome: 'error', hwClass: 'cuda', category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', gpuModel: 'NVIDIA H200' });
    metrics.attemptEnded({ outcome: 'passed', hwClass: 'cpu' });
    metrics.failover('lost', 3456.7);
    metrics.detection('lost', 3100);
    metrics.breakerChanged('artifact-store', 'open');
    metrics.quarantined(true);
    metrics.connectionLost();
    metrics.reconnected(4200);
    metrics.reconnectFailed();
    metrics.alertFired('error_rate', 'critical');
    metrics.gpu({ index: 0, model: 'NVIDIA H200', temperatureC: 41, memoryUsedBytes: 1e9, memoryTotalBytes: 1.5e11, utilization: 0.5 });
    metrics.simulatedGpus(0);
    for (const d of Object.values(DTF_METRICS)) expect({ name: d.name, help: m.created.get(d.name)?.help }).toEqual({ name: d.name, help: d.help });
    expect(m.sum('dtf_task_outcomes{hw_class=cuda,status=passed}')).toBe(1);
    expect(m.values.get('dtf_task_duration_ms{hw_class=cuda,status=passed}')).toEqual([1234]);
    expect(m.sum('dtf_recovery_actions{action=dead-letter}')).toBe(1);
    // Infrastructure errors: the dead-lettered task did not recover, the lost-then-passed one did; a test failure needs no recovery.
    expect(m.sum('dtf_recovery_outcomes{outcome=unrecovered}')).toBe(1);
    expect(m.sum('dtf_recovery_outcomes{outcome=recovered}')).toBe(1);
    expect(m.sum('dtf_attempt_failures{category=RESOURCE_ALLOCATION_ERROR,gpu_model=NVIDIA H200,kind=resource}')).toBe(1);
    expect(m.sum('dtf_task_attempts{hw_class=cpu,outcome=passed}')).toBe(1);
    expect(m.values.get('dtf_failover_latency_ms{cause=lost}')).toEqual([3457]);
    expect(m.values.get('dtf_breaker_state{service=artifact-store}')).toEqual([2]);
    expect(m.values.get('dtf_host_quarantined{}')).toEqual([1]);
    expect(m.values.get('dtf_worker_connected{}')).toEqual([1]);
    expect(m.sum('dtf_connection_events{event=lost}') + m.sum('dtf_connection_events{event=reconnected}') + m.sum('dtf_connection_events{event=reconnect_failed}')).toBe(3);
    expect(m.values.get('dtf_gpu_utilization_ratio{gpu=0,model=NVIDIA H200}')).toEqual([0.5]);
  });
});

describe('AlertEvaluator', () => {
  const t0 = 1_000_000_000;

  it('fires the task success rate and error rate (critical) on a failing batch, once, and clears when the window passes', () => {
    const ev = new AlertEvaluator({});
    for (let i = 0; i < 12; i++) {
      ev.attemptEnded(t0 + i, { error: true, category: 'NETWORK_CONNECTION_ERROR' });
      ev.taskSettled(t0 + i, { status: 'error', infraError: true });
    }
    const fired = ev.evaluate(t0 + 100);
    expect(fired.map((c) => [c.rule, c.severity, c.state]).sort()).toEqual([
      ['category_burst', 'warning', 'firing'],
      ['error_rate', 'critical', 'firing'],
      ['recovery_failure_rate', 'critical', 'firing'],
      ['task_success_rate', 'critical', 'firing'],
    ]);
    expect(fired.find((c) => c.rule === 'category_burst')!.key).toBe('NETWORK_CONNECTION_ERROR');
    expect(fired.find((c) => c.rule === 'error_rate')!.value).toBe(1);
    expect(ev.evaluate(t0 + 200)).toEqual([]); // once per episode
    const later = ev.evaluate(t0 + 16 * 60_000);
    expect(later.map((c) => c.state)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
  });

  it('stays quiet for a healthy batch, for too few samples, and at the thresholds themselves', () => {
    const ev = new AlertEvaluator({});
    for (let i = 0; i < 40; i++) {
      ev.attemptEnded(t0 + i, { error: false });
      ev.taskSettled(t0 + i, { status: 'passed', infraError: false });
    }
    expect(ev.evaluate(t0 + 100)).toEqual([]);
    // 2 failed of 40: a success rate of exactly 0.95 is not below 0.95; a third failure is.
    const ev2 = new AlertEvaluator({});
    for (let i = 0; i < 38; i++) ev2.taskSettled(t0, { status: 'passed', infraError: false });
    for (let i = 0; i < 2; i++) ev2.taskSettled(t0, { status: 'failed', infraError: false });
    expect(ev2.evaluate(t0 + 1)).toEqual([]);
    ev2.taskSettled(t0, { status: 'failed', infraError: false });
    expect(ev2.evaluate(t0 + 1).map((c) => c.rule)).toEqual(['task_success_rate']);
    // Cancelled and discarded tasks are an operator's decision, not a verdict on the fleet.
    const ev3 = new AlertEvaluator({});
    for (let i = 0; i < 20; i++) ev3.taskSettled(t0, { status: i % 2 ? 'cancelled' : 'discarded', infraError: false });
    expect(ev3.evaluate(t0 + 1)).toEqual([]);
  });

  it('does not rate fewer tasks than minTasks, and counts a category only above its threshold', () => {
    const ev = new AlertEvaluator({});
    for (let i = 0; i < 9; i++) ev.taskSettled(t0, { status: 'error', infraError: false });
    for (let i = 0; i < 10; i++) ev.attemptEnded(t0, { error: false, category: 'TEST_EXECUTION_ERROR' });
    expect(ev.evaluate(t0 + 1)).toEqual([]);
    ev.attemptEnded(t0, { error: false, category: 'TEST_EXECUTION_ERROR' });
    expect(ev.evaluate(t0 + 1).map((c) => [c.rule, c.value])).toEqual([['category_burst', 11]]);
  });

  it('takes thresholds, windows and severities from the deployment config', () => {
    const ev = new AlertEvaluator({ errorRate: { threshold: 0.5, minAttempts: 2, windowMs: 60_000, severity: 'warning' } });
    ev.attemptEnded(t0, { error: true });
    ev.attemptEnded(t0, { error: false });
    expect(ev.evaluate(t0 + 1)).toEqual([]); // 0.5 is not above 0.5
    ev.attemptEnded(t0, { error: true });
    expect(ev.evaluate(t0 + 1)).toMatchObject([{ rule: 'error_rate', severity: 'warning', windowMs: 60_000 }]);
    expect(ev.evaluate(t0 + 61_000)).toMatchObject([{ rule: 'error_rate', state: 'resolved' }]);
  });

  it('warns on more than 3 reconnects a minute and is critical about a reconnect that does not come', () => {
    const ev = new AlertEvaluator({});
    for (let i = 0; i < 3; i++) {
      ev.connectionLost(t0 + i * 10_000);
      ev.reconnected(t0 + i * 10_000 + 2_000);
    }
    expect(ev.evaluate(t0 + 30_000)).toEqual([]);
    ev.connectionLost(t0 + 40_000);
    ev.reconnected(t0 + 41_000);
    expect(ev.evaluate(t0 + 41_000)).toMatchObject([{ rule: 'reconnect_rate', severity: 'warning', value: 4 }]);
    ev.connectionLost(t0 + 50_000);
    expect(ev.evaluate(t0 + 60_000)).toEqual([]);
    // 30 s after it was lost: a failed reconnect; meanwhile the early reconnects left the one-minute window.
    expect(ev.evaluate(t0 + 80_000).map((c) => [c.rule, c.severity, c.state]).sort()).toEqual([
      ['reconnect_failed', 'critical', 'firing'],
      ['reconnect_rate', 'warning', 'resolved'],
    ]);
    ev.reconnected(t0 + 90_000);
    expect(ev.evaluate(t0 + 200_000).map((c) => [c.rule, c.state])).toEqual([['reconnect_failed', 'resolved']]);
  });

  it('turns a change into a notification with the rule\'s severity', () => {
    const ev = new AlertEvaluator({ reconnectFailed: { afterMs: 1_000 } });
    ev.connectionLost(t0);
    const [c] = ev.evaluate(t0 + 5_000);
    const n = alertNotification(c, 'gpu-7');
    expect(n).toMatchObject({ kind: 'alert', severity: 'critical', details: { rule: 'reconnect_failed', hostId: 'gpu-7', state: 'firing' } });
    ev.reconnected(t0 + 6_000);
    expect(alertNotification(ev.evaluate(t0 + 6_000)[0], 'gpu-7')).toMatchObject({ kind: 'alert_resolved', severity: 'info', details: { severityWas: 'critical' } });
  });
});

describe('alerts: in the deployment config', () => {
  it('has the seeds\' defaults and refuses a bad threshold by its path', () => {
    const c = DeploymentConfig.parse({});
    expect(c.alerts.taskSuccessRate).toMatchObject({ threshold: 0.95, severity: 'critical' });
    expect(c.alerts.errorRate).toMatchObject({ threshold: 0.1, severity: 'critical' });
    expect(c.alerts.categoryBurst).toMatchObject({ threshold: 10, windowMs: 300_000, severity: 'warning' });
    expect(c.alerts.recoveryFailureRate).toMatchObject({ threshold: 0.2, severity: 'critical' });
    expect(c.alerts.reconnectRate).toMatchObject({ threshold: 3, windowMs: 60_000, severity: 'warning' });
    expect(c.alerts.reconnectFailed.severity).toBe('critical');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-alerts-')), 'fleet.yaml');
    fs.writeFileSync(file, 'alerts:\n  errorRate: {threshold: 1.5}\n  reconnectRate: {treshold: 2}\n');
    let err: unknown;
    try {
      loadDeploymentConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect(String((err as Error).message)).toMatch(/alerts\.errorRate\.threshold/);
    expect(String((err as Error).message)).toMatch(/alerts\.reconnectRate.*treshold/);
  });
});

describe('ConnectionWatch', () => {
  it('reports a lost connection once, a failed reconnect once, then the reconnect with its duration', async () => {
    let now = 0;
    let up = true;
    const seen: string[] = [];
    const watch = new ConnectionWatch(
      { check: async () => { if (!up) throw new Error('connection refused'); }, intervalMs: 1_000, failAfterMs: 3_000, now: () => now },
      {
        lost: (_at, error) => seen.push(`lost ${error}`),
        reconnected: (_at, downMs) => seen.push(`reconnected ${downMs}`),
        reconnectFailed: (_at, downMs) => seen.push(`failed ${downMs}`),
      },
    );
    for (const [t, u] of [[0, true], [1_000, false], [2_000, false], [4_000, false], [5_000, false], [6_500, true], [7_500, true]] as const) {
      now = t;
      up = u;
      await watch.checkOnce();
    }
    expect(seen).toEqual(['lost connection refused', 'failed 3000', 'reconnected 5500']);
    expect(watch.connected).toBe(true);
  });
});

describe('ConnectionWatch with a call that hangs (the SDK retries an unreachable server on its own)', () => {
  it('counts it lost after its timeout and starts no second call while the first is out', async () => {
    let calls = 0;
    let answer: () => void = () => undefined;
    const seen: string[] = [];
    const watch = new ConnectionWatch(
      { check: () => (calls++, new Promise<void>((resolve) => (answer = resolve))), intervalMs: 1_000, failAfterMs: 60_000, timeoutMs: 50 },
      { lost: (_at, e) => seen.push(`lost: ${e}`), reconnected: () => seen.push('reconnected'), reconnectFailed: () => seen.push('failed') },
    );
    await watch.checkOnce();
    await watch.checkOnce();
    expect(calls).toBe(1);
    expect(seen).toEqual(['lost: no answer within 50 ms']);
    answer();
    await watch.checkOnce(); // the late answer counts: the server is back
    expect(seen).toEqual(['lost: no answer within 50 ms', 'reconnected']);
  });
});

describe('failover and detection latency from a history', () => {
  const load = (name: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'histories', name), 'utf8'))).events ?? [];

  it('a failure on one host and the next attempt on another: detection and failover, in server time', () => {
    const [l] = attemptLatencies(load('recovered-in-place.json'));
    expect(l.cause).toBe('failed');
    expect(l.category).toMatch(/^[A-Z_]+$/);
    expect(l.detectionMs).toBeGreaterThanOrEqual(0);
    expect(l.detectionMs).toBeLessThan(1_000);
    // Started 09:45:13.559, failed 09:45:13.785, next attempt started on the other host 09:45:15.101.
    expect(l.failoverMs).toBeGreaterThan(1_300);
    expect(l.failoverMs).toBeLessThan(1_600);
  });

  it('leaves out test failures (a flaky rerun elsewhere is no failover) and passing tasks', () => {
    expect(attemptLatencies(load('flaky-rerun.json'))).toEqual([]);
    expect(attemptLatencies(load('passed.json'))).toEqual([]);
  });

  it('every infrastructure failure of a continued task, the last one with no next attempt to fail over to', () => {
    const ls = attemptLatencies(load('continued-as-new.json'));
    expect(ls.map((l) => l.cause)).toEqual(['failed', 'failed']);
    expect(ls[0].failoverMs).toBeGreaterThan(0);
    expect(ls[1].failoverMs).toBeUndefined();
  });
});

describe('--metrics-bind', () => {
  it('takes HOST:PORT and refuses anything else by example', () => {
    expect(parseMetricsBind('0.0.0.0:9464')).toBe('0.0.0.0:9464');
    expect(parseMetricsBind('[::1]:9464')).toBe('[::1]:9464');
    expect(() => parseMetricsBind('9464')).toThrow(/expected HOST:PORT/);
    expect(() => parseMetricsBind('localhost:99999')).toThrow(/expected HOST:PORT/);
  });

  it('asks the Runtime for a Prometheus endpoint with dtf\'s histogram buckets and the host label', () => {
    const t = metricsTelemetry('127.0.0.1:9464', 'gpu-7');
    expect(t.metrics).toMatchObject({ globalTags: { host: 'gpu-7' }, prometheus: { bindAddress: '127.0.0.1:9464' } });
    expect((t.metrics as { prometheus: { histogramBucketOverrides: Record<string, number[]> } }).prometheus.histogramBucketOverrides.dtf_failover_latency_ms).toEqual([...DTF_METRICS.failoverLatency.buckets!]);
  });
});
