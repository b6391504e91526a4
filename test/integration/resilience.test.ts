/**
 * Circuit breakers, host self-quarantine, the queue watch and notifications on a real server with real worker
 * processes: each worker reads a deployment config that points its notifications at a local webhook receiver.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, settledResult, startTasks } from '../../src/cli/submit';
import type { RecoveryLogEntry, TestTaskResult } from '../../src/domain/task-result';
import { freePort } from '../../src/server/dev-server';
import { LocalFleet } from '../../src/server/local-fleet';
import { discardUpdate } from '../../src/workflows/messages';
import { node, runTask, spec, startTask, startTestFleet, waitUntil } from '../helpers';
import { startWebhookReceiver } from '../webhook-receiver';

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

function writeConfig(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-resilience-'));
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

const rulesOf = (log: RecoveryLogEntry[]) => log.map((e) => e.rule).filter(Boolean);

describe('circuit breaker of a declared service', () => {
  let fleet: LocalFleet;
  let hooks: Receiver;
  // A second webhook that redirects elsewhere: the notification must not reach `elsewhere`.
  let redirecting: Receiver;
  let elsewhere: Receiver;
  const signingSecret = 'whsec-integration-5e3f1a';

  beforeAll(async () => {
    hooks = await startWebhookReceiver([], { signingSecret });
    elsewhere = await startWebhookReceiver();
    redirecting = await startWebhookReceiver([], { redirectTo: elsewhere.url });
    const config = writeConfig(
      `breakers: {consecutiveFailures: 2, halfOpenAfterMs: 4000}\nnotifications:\n  webhooks:\n` +
        `    - {url: "${hooks.url}", minSeverity: info, signingSecretEnv: DTF_TEST_WEBHOOK_SECRET}\n    - {url: "${redirecting.url}", minSeverity: warning}\n`,
    );
    fleet = await startTestFleet([{ hostId: 'br-cpu', extraArgs: ['--config', config], env: { DTF_TEST_WEBHOOK_SECRET: signingSecret } }]);
  });

  afterAll(async () => {
    await fleet?.stop();
    await hooks?.close();
    await redirecting?.close();
    await elsewhere?.close();
  });

  test('opens after repeated probe failures, fails fast until half-open, and closes when the service is back', async () => {
    const port = await freePort(); // nothing listens yet: the artifact store is "down"
    const handle = (
      await startTasks(
        fleet.client,
        [
          spec({
            name: 'needs-store',
            command: [process.execPath, '-e', 'console.log("uploaded")'],
            services: [{ name: 'artifacts', url: `http://127.0.0.1:${port}/health`, timeoutMs: 1000 }],
            // Fast retries while closed, so that the breaker's own delay is what shows once it is open.
            retry: { NETWORK_CONNECTION_ERROR: { maxAttemptsInPlace: 10, initialDelayMs: 200, maxDelayMs: 500 } },
          }),
        ],
        newBatchId(),
      )
    )[0];

    await waitUntil('the breaker_open notification', () => hooks.ofKind('breaker_open').length > 0);
    const openedAt = Date.now();
    const opened = hooks.ofKind('breaker_open')[0];
    expect(opened).toMatchObject({ severity: 'warning', details: { service: 'artifacts', hostId: 'br-cpu', retryAfterMs: 4000 } });
    expect(String((opened.details as { lastFailure: string }).lastFailure)).toMatch(/ECONNREFUSED/);

    // The store comes back; the next call after the half-open delay probes it and closes the breaker.
    const store = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => store.listen(port, '127.0.0.1', r));
    try {
      const result = await settledResult(handle, 250);
      expect(result.status).toBe('passed');
      expect(result.outputTail).toContain('uploaded');
      const rules = rulesOf(result.recoveryLog);
      expect(rules.filter((r) => r === 'service-probe-failed')).toHaveLength(2);
      const fastFail = result.recoveryLog.find((e) => e.rule === 'service-breaker-open');
      expect(fastFail).toMatchObject({ category: 'NETWORK_CONNECTION_ERROR', action: 'retry-in-place' });
      // Refused without calling the store, with a retry delay of the time until half-open (not the 200-500 ms policy).
      expect(fastFail!.delayMs).toBeGreaterThan(2_500);
      expect(fastFail!.delayMs).toBeLessThanOrEqual(4_000);
      expect(hooks.ofKind('breaker_closed')).toHaveLength(1);
      expect(Date.now() - openedAt).toBeGreaterThan(2_500);
    } finally {
      store.closeAllConnections();
      await new Promise((r) => store.close(r));
    }
  });

  test('a dead-lettered task is announced on the webhook', async () => {
    const handle = (await startTasks(fleet.client, [spec({ name: 'announced', command: node('scripts/bad-config.js') })], newBatchId()))[0];
    const parked = await settledResult(handle, 250);
    expect(parked.status).toBe('dead_lettered');
    await waitUntil('the dead_lettered notification', () => hooks.ofKind('dead_lettered').length > 0, 10_000);
    expect(hooks.ofKind('dead_lettered')[0]).toMatchObject({
      severity: 'warning',
      title: 'task announced dead-lettered: TEST_CONFIGURATION_ERROR',
      details: { workflowId: handle.workflowId, task: 'announced', category: 'TEST_CONFIGURATION_ERROR' },
    });
    await handle.executeUpdate(discardUpdate, { args: [{ reason: 'test over' }] });
    expect(((await handle.result()) as TestTaskResult).status).toBe('discarded');
  });

  test('every notification the worker sent is signed with the secret its config names, and a redirect is not followed', async () => {
    expect(hooks.received.length).toBeGreaterThan(0);
    for (const r of hooks.received) expect(r.verified).toMatchObject({ ok: true });
    expect(fs.readFileSync(fleet.workers[0].logFile, 'utf8')).not.toContain(signingSecret);
    await waitUntil('a delivery to the redirecting webhook', () => redirecting.received.length > 0, 10_000);
    expect(redirecting.received[0].body.kind).toMatch(/breaker_open|dead_lettered/);
    await waitUntil('the failed delivery in the worker log', () => /redirect to http:\/\/127\.0\.0\.1:\d+, not followed/.test(fs.readFileSync(fleet.workers[0].logFile, 'utf8')), 10_000);
    expect(elsewhere.received).toEqual([]);
  });
});

describe('host self-quarantine', () => {
  let fleet: LocalFleet;
  let hooks: Receiver;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    const config = writeConfig(`quarantine: {threshold: 2, cooldownMs: 600000}\nnotifications:\n  webhooks: [{url: "${hooks.url}"}]\n`);
    // q-bad crashes every command it runs; one task at a time, so exactly `threshold` crashes precede the quarantine.
    fleet = await startTestFleet([
      { hostId: 'q-bad', extraArgs: ['--config', config, '--inject', 'WORKER_CRASH_ERROR:1', '--max-tasks', '1'] },
      { hostId: 'q-good', extraArgs: ['--config', config] },
    ]);
  });

  afterAll(async () => {
    await fleet?.stop();
    await hooks?.close();
  });

  const batch = async (prefix: string, n: number) => {
    const specs = Array.from({ length: n }, (_, i) => spec({ name: `${prefix}-${i}`, command: node('scripts/sleep.js', '0.3') }));
    const handles = await startTasks(fleet.client, specs, newBatchId());
    return Promise.all(handles.map((h) => settledResult(h, 250)));
  };
  const crashesOnBad = (results: TestTaskResult[]) =>
    results.flatMap((r) => r.recoveryLog).filter((e) => e.hostId === 'q-bad' && e.category === 'WORKER_CRASH_ERROR').length;

  test('a host whose own crashes repeat stops taking class-queue work; its tasks pass elsewhere', async () => {
    const first = await batch('qa', 8);
    expect(first.map((r) => r.status)).toEqual(Array(8).fill('passed'));
    expect(first.every((r) => r.hostId === 'q-good')).toBe(true);
    expect(crashesOnBad(first)).toBe(2);
    await waitUntil('the host_quarantined notification', () => hooks.ofKind('host_quarantined').length > 0, 10_000);
    expect(hooks.ofKind('host_quarantined')[0]).toMatchObject({ severity: 'critical', details: { hostId: 'q-bad', failures: 2 } });
    expect(fs.readFileSync(fleet.workers.find((w) => w.spec.hostId === 'q-bad')!.logFile, 'utf8')).toMatch(/host q-bad QUARANTINED: it takes no class-queue work/);

    // Quarantined: q-bad runs nothing more from the class queue, though it would crash it all.
    const second = await batch('qb', 6);
    expect(second.map((r) => r.status)).toEqual(Array(6).fill('passed'));
    expect(crashesOnBad(second)).toBe(0);
  });

  test('a task pinned to the quarantined host still runs there (someone chose that host on purpose)', async () => {
    const result = await runTask(fleet.client, { name: 'pinned', command: node('scripts/sleep.js', '0.1'), host: 'q-bad', deadLetterRetentionSeconds: 0 });
    // It ran on q-bad (and crashed, injection being on): the gate did not refuse it.
    expect(result.recoveryLog.some((e) => e.hostId === 'q-bad' && e.rule !== 'host-quarantined' && e.category === 'WORKER_CRASH_ERROR')).toBe(true);
    expect(rulesOf(result.recoveryLog)).not.toContain('host-quarantined');
    // Its third crash in the hour makes the error recurring on q-bad: announced once.
    await waitUntil('the recurring_error notification', () => hooks.ofKind('recurring_error').length > 0, 10_000);
    expect(hooks.ofKind('recurring_error')[0]).toMatchObject({ severity: 'warning', details: { category: 'WORKER_CRASH_ERROR', hostId: 'q-bad', lastHour: 3 } });
  });
});

describe('quarantine cool-down and trial task', () => {
  let fleet: LocalFleet;
  let hooks: Receiver;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    const config = writeConfig(`quarantine: {threshold: 1, cooldownMs: 6000}\nnotifications:\n  webhooks: [{url: "${hooks.url}", minSeverity: info}]\n`);
    fleet = await startTestFleet([{ hostId: 'qt-only', extraArgs: ['--config', config] }]);
  });

  afterAll(async () => {
    await fleet?.stop();
    await hooks?.close();
  });

  test('the only host quarantines itself, the next task waits out the cool-down, runs as the trial and clears the host', async () => {
    // Its crash quarantines the host. Where it goes next does not matter here (hosts of earlier tests may still be
    // listed as pollers for a minute); it is cancelled at the end.
    const crash = await startTask(fleet.client, { name: 'qt-crash', command: node('scripts/sleep.js', '0.1'), inject: { WORKER_CRASH_ERROR: 1 } });
    await waitUntil('the host_quarantined notification', () => hooks.ofKind('host_quarantined').length > 0, 10_000);
    const quarantinedAt = Date.parse(String(hooks.ofKind('host_quarantined')[0].at));

    const trial = await runTask(fleet.client, { name: 'qt-trial', command: node('scripts/sleep.js', '0.2') });
    expect(trial.status).toBe('passed');
    expect(trial.hostId).toBe('qt-only');
    await waitUntil('the host_recovered notification', () => hooks.ofKind('host_recovered').length > 0, 10_000);
    const recovered = hooks.ofKind('host_recovered')[0];
    expect(recovered).toMatchObject({ severity: 'info', details: { hostId: 'qt-only' } });
    // The trial ran only after the cool-down: the host took no class-queue work for 6 s.
    expect(Date.parse(String(recovered.at)) - quarantinedAt).toBeGreaterThanOrEqual(6_000);
    // Not dead-lettered by the quarantine: at most handed back to its queue by a poll that began before it.
    expect(trial.recoveryLog.every((e) => e.rule === 'host-quarantined' || e.action === 'attempt-started')).toBe(true);
    await crash.cancel();
    // Cancelled while it waits (a `cancelled` result) or while a control activity runs (the workflow is cancelled).
    const end = await crash.result().then((r) => (r as TestTaskResult).status, (e: Error) => e.message);
    expect(end).toMatch(/cancel|error/i);
  });
});

describe('queue watch', () => {
  let fleet: LocalFleet;

  beforeAll(async () => {
    fleet = await startTestFleet([{ hostId: 'qw-cpu' }]);
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  test('a task on a queue no live host serves is told so within seconds, then falls back after its placement timeout', async () => {
    const started = Date.now();
    const result = await runTask(fleet.client, {
      name: 'no-80gb-host',
      command: node('scripts/sleep.js', '0.1'),
      hardware: { class: 'cuda', minGpuMemoryGb: 80, fallback: ['cpu'] },
      placementTimeoutSeconds: 4,
    });
    expect(result.status).toBe('passed');
    expect(result.queue).toBe('dtf-cpu');
    const told = result.recoveryLog.find((e) => e.action === 'no-eligible-host')!;
    expect(told).toMatchObject({ queue: 'dtf-cuda-80gb', reason: 'no live host in the fleet serves dtf-cuda-80gb' });
    const fallback = result.recoveryLog.find((e) => e.action === 'fallback')!;
    expect(fallback).toMatchObject({ rule: 'no-eligible-host', category: 'HARDWARE_AVAILABILITY_ERROR', queue: 'dtf-cuda-80gb', to: 'dtf-cpu' });
    // Detected within seconds (the fleet watch looks every 5 s, twice), then the placement timeout of 4 s.
    expect(Date.parse(told.at) - started).toBeLessThan(15_000);
    expect(Date.parse(fallback.at) - Date.parse(told.at)).toBeGreaterThanOrEqual(4_000);
    expect(result.attempts).toBe(1); // waiting burnt no attempt: only the run on CPU counts
  });

  test('a task pinned to a host that is not there ends (no fallback allowed) once its placement timeout has passed', async () => {
    const started = Date.now();
    const result = await runTask(fleet.client, { name: 'pinned-gone', command: ['true'], host: 'no-such-host', placementTimeoutSeconds: 3, deadLetterRetentionSeconds: 0 });
    expect(result.status).toBe('error');
    expect(result.recoveryLog.map((e) => e.rule)).toContain('no-eligible-host');
    expect(result.reason).toMatch(/no eligible host picked the task up on dtf-host-no-such-host/);
    expect(result.attempts).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
