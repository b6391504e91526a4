/**
 * Metrics and live alerts with real workers on a real server: a worker with --metrics-bind serves dtf's and the
 * SDK's metrics; a healthy batch fires no alert; a batch whose attempts fail fires the error-rate and success-rate
 * alerts (critical) and the category burst (warning) on a local webhook. A second server, stopped for a few
 * seconds under a worker, makes the worker count a lost connection, alert a failed reconnect, and clear it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, settledResult, startTasks } from '../../src/cli/submit';
import { connectClient } from '../../src/config/connection';
import { DevServer, freePort, startDevServer } from '../../src/server/dev-server';
import { LocalFleet, WorkerProcess, spawnWorker } from '../../src/server/local-fleet';
import { spec, startTestFleet, waitUntil } from '../helpers';
import { startWebhookReceiver } from '../webhook-receiver';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-metrics-'));

function writeConfig(name: string, url: string, alerts: object): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify({ notifications: { logMinSeverity: 'warning', webhooks: [{ url, minSeverity: 'info' }] }, alerts }));
  return file;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one series of a scrape, e.g. series(text, 'dtf_task_outcomes', {status: 'error'}). */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('metrics and alerts of a worker', () => {
  let fleet: LocalFleet;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let metricsPort: number;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    metricsPort = await freePort();
    const config = writeConfig('alerts.json', hooks.url, { checkIntervalMs: 500 });
    fleet = await startTestFleet([
      { hostId: 'al-1', extraArgs: ['--config', config, '--metrics-bind', `127.0.0.1:${metricsPort}`, '--max-tasks', '4'], env: { DTF_RESULTS_DB: `sqlite:${path.join(tmp, 'results.db')}` } },
    ]);
  });

  afterAll(async () => {
    await fleet?.stop();
    await hooks?.close();
  });

  const run = async (specs: ReturnType<typeof spec>[]) => {
    const handles = await startTasks(fleet.client, specs, newBatchId());
    return Promise.all(handles.map((h) => settledResult(h, 250)));
  };

  it('serves dtf and SDK metrics; a healthy batch fires no alert', async () => {
    const results = await run([...Array(12).keys()].map((i) => spec({ name: `ok-${i}`, command: ['/bin/true'], host: 'al-1' })));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('passed'));
    let text = '';
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      text = await scrape(metricsPort);
      if (series(text, 'dtf_task_outcomes', { status: 'passed' }) >= 12) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(series(text, 'dtf_task_outcomes', { status: 'passed', hw_class: 'cpu', host: 'al-1' })).toBe(12);
    expect(series(text, 'dtf_task_attempts', { outcome: 'passed' })).toBe(12);
    expect(series(text, 'dtf_task_duration_ms_count', { status: 'passed' })).toBe(12);
    expect(series(text, 'dtf_worker_connected', { host: 'al-1' })).toBe(1);
    // The SDK's own metrics on the same endpoint, with the same host label.
    expect(series(text, 'temporal_request', { host: 'al-1' })).toBeGreaterThan(0);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(text).not.toMatch(/workflow_id=|task_id=/);
    await new Promise((r) => setTimeout(r, 1_500)); // three evaluations
    expect(hooks.ofKind('alert')).toEqual([]);
  });

  it('a batch whose attempts fail: error rate and task success rate (critical), category burst (warning), on the webhook', async () => {
    const results = await run(
      [...Array(12).keys()].map((i) => spec({ name: `bad-${i}`, command: ['/bin/true'], host: 'al-1', inject: { TEST_DEPENDENCY_ERROR: 1 }, deadLetterRetentionSeconds: 0 })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('error'));
    await waitUntil('the error-rate alert', () => hooks.ofKind('alert').some((a) => (a.details as { rule: string }).rule === 'error_rate'), 15_000);
    await waitUntil('the success-rate alert', () => hooks.ofKind('alert').some((a) => (a.details as { rule: string }).rule === 'task_success_rate'), 15_000);
    await waitUntil('the category-burst alert', () => hooks.ofKind('alert').some((a) => (a.details as { rule: string }).rule === 'category_burst'), 15_000);
    const alerts = hooks.ofKind('alert') as { severity: string; title: string; details: { rule: string; key?: string; value: number; threshold: number; hostId: string } }[];
    const byRule = (rule: string) => alerts.filter((a) => a.details.rule === rule);
    expect(byRule('error_rate')).toHaveLength(1);
    // Live: each fires as soon as its window crosses the threshold, while the batch still runs.
    expect(byRule('error_rate')[0]).toMatchObject({ severity: 'critical', details: { threshold: 0.1, hostId: 'al-1' } });
    expect(byRule('error_rate')[0].details.value).toBeGreaterThan(0.1);
    expect(byRule('error_rate')[0].details.value).toBeLessThanOrEqual(0.5);
    expect(byRule('task_success_rate')[0]).toMatchObject({ severity: 'critical', details: { threshold: 0.95 } });
    expect(byRule('task_success_rate')[0].details.value).toBeLessThan(0.95);
    expect(byRule('category_burst')[0]).toMatchObject({ severity: 'warning', details: { key: 'TEST_DEPENDENCY_ERROR', threshold: 10 } });
    expect(byRule('category_burst')[0].details.value).toBeGreaterThan(10);
    // A test dependency missing is the task's own problem: no recovery was owed.
    expect(byRule('recovery_failure_rate')).toEqual([]);
    const text = await scrape(metricsPort);
    expect(series(text, 'dtf_attempt_failures', { category: 'TEST_DEPENDENCY_ERROR', gpu_model: 'none' })).toBe(12);
    expect(series(text, 'dtf_alerts_fired', { rule: 'error_rate', severity: 'critical' })).toBe(1);
  });
});

describe('a worker that loses its server', () => {
  let server: DevServer | undefined;
  let worker: WorkerProcess | undefined;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;

  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    await hooks?.close();
  });

  it('counts the lost connection, alerts a failed reconnect (critical), then counts the reconnect and clears it', async () => {
    hooks = await startWebhookReceiver();
    const port = await freePort();
    const metricsPort = await freePort();
    server = await startDevServer({ port, headless: true });
    const client = await connectClient({ address: server.address });
    const config = writeConfig('reconnect.json', hooks.url, { checkIntervalMs: 300, reconnectFailed: { afterMs: 1_000 } });
    try {
      worker = await spawnWorker(client, server.address, { hostId: 'rc-1', extraArgs: ['--config', config, '--metrics-bind', `127.0.0.1:${metricsPort}`] }, path.join(tmp, 'logs'));
    } finally {
      await client.connection.close();
    }
    await server.stop();
    server = undefined;
    await waitUntil('the reconnect_failed alert', () => hooks.ofKind('alert').length > 0, 15_000);
    expect(hooks.ofKind('alert')[0]).toMatchObject({ severity: 'critical', details: { rule: 'reconnect_failed', hostId: 'rc-1' } });
    server = await startDevServer({ port, headless: true });
    await waitUntil('the reconnect_failed alert to clear', () => hooks.ofKind('alert_resolved').length > 0, 20_000);
    expect(hooks.ofKind('alert_resolved')[0]).toMatchObject({ severity: 'info', details: { rule: 'reconnect_failed' } });
    const text = await scrape(metricsPort);
    // One outage (a server coming up may drop a first connection, so at least one), each lost one regained.
    const lost = series(text, 'dtf_connection_events', { event: 'lost' });
    expect(lost).toBeGreaterThanOrEqual(1);
    expect(series(text, 'dtf_connection_events', { event: 'reconnected' })).toBe(lost);
    expect(series(text, 'dtf_connection_events', { event: 'reconnect_failed' })).toBeGreaterThanOrEqual(1);
    expect(series(text, 'dtf_reconnect_duration_ms_count')).toBe(lost);
    expect(series(text, 'dtf_reconnect_duration_ms_sum')).toBeGreaterThanOrEqual(1_000);
    expect(series(text, 'dtf_worker_connected')).toBe(1);
  });
});
