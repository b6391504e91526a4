/**
 * Recovery by category on a real server with real worker processes and real commands: retry in place, bigger GPU,
 * CPU fallback, test failure, fail fast, reassign and report-failure.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { parseWorkerIdentity } from '../../src/domain/hardware';
import { TestTaskResult } from '../../src/domain/task-result';
import { LocalFleet } from '../../src/server/local-fleet';
import { progressQuery, reassignUpdate, reportFailureSignal } from '../../src/workflows/messages';
import { EXAMPLES, node, runTask, startTask, startTestFleet } from '../helpers';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await startTestFleet([
    { hostId: 'rc-cpu' },
    { hostId: 'rc-gpu-8', simulateGpus: ['RTX-3070:8:8.6'] },
    { hostId: 'rc-gpu-24', simulateGpus: ['RTX-4090:24:8.9'] },
  ]);
});

afterAll(async () => {
  await fleet?.stop();
});

const actions = (r: TestTaskResult) => r.recoveryLog.filter((e) => e.action !== 'attempt-started').map((e) => e.action);

test('a transient network failure passes on retry in place, after the category\'s backoff', async () => {
  const r = await runTask(fleet.client, { name: 'flaky', command: node('scripts/flaky-network.js', '--ok-from', '2') });
  expect(r.status).toBe('passed');
  expect(r.attempts).toBe(2);
  const retry = r.recoveryLog.find((e) => e.action === 'retry-in-place')!;
  expect(retry).toMatchObject({ category: 'NETWORK_CONNECTION_ERROR', kind: 'transient', attempt: 1 });
  // NETWORK_CONNECTION_ERROR: 1 s initial delay with ±30 % jitter.
  expect(retry.delayMs).toBeGreaterThanOrEqual(700);
  expect(retry.delayMs).toBeLessThanOrEqual(1300);
});

test('a GPU OOM on the 8 GB host succeeds on the 24 GB host', async () => {
  const r = await runTask(fleet.client, {
    name: 'oom',
    command: node('scripts/train.js', '--needs-gb', '12', '--steps', '1'),
    hardware: { class: 'cuda', minGpuMemoryGb: 8 },
    host: 'rc-gpu-8',
    retry: { RESOURCE_ALLOCATION_ERROR: { maxAttemptsInPlace: 1 } },
  });
  expect(r.status).toBe('passed');
  expect(r.hostId).toBe('rc-gpu-24');
  const move = r.recoveryLog.find((e) => e.action === 'bigger-gpu')!;
  expect(move).toMatchObject({ category: 'RESOURCE_ALLOCATION_ERROR', hostId: 'rc-gpu-8', to: 'dtf-cuda-16gb' });
  expect(move.rule).toMatch(/^gpu-oom/);
});

test('a CUDA task no host can take falls back to CPU when allowed', async () => {
  const r = await runTask(fleet.client, {
    name: 'fallback',
    command: [process.execPath, '--test', `${EXAMPLES}/tests/math.test.js`],
    hardware: { class: 'cuda', minGpuMemoryGb: 80, fallback: ['cpu'] },
    placementTimeoutSeconds: 2,
  });
  expect(r.status).toBe('passed');
  expect(r.hwClass).toBe('cpu');
  expect(r.recoveryLog.find((e) => e.action === 'fallback')).toMatchObject({ category: 'HARDWARE_AVAILABILITY_ERROR', to: 'dtf-cpu' });
});

test('an assertion failure is a test failure: no infrastructure retry', async () => {
  const r = await runTask(fleet.client, { name: 'assert', command: [process.execPath, '--test', `${EXAMPLES}/tests/regression.test.js`] });
  expect(r.status).toBe('failed');
  expect(r.attempts).toBe(1);
  expect(actions(r)).toEqual(['compensate', 'record-test-failure']);
});

test('a configuration error fails fast', async () => {
  const r = await runTask(fleet.client, { name: 'config', command: node('scripts/bad-config.js'), deadLetterRetentionSeconds: 0 });
  expect(r.status).toBe('error');
  expect(r.category).toBe('TEST_CONFIGURATION_ERROR');
  expect(r.attempts).toBe(1);
  expect(actions(r)).toEqual(['compensate', 'fail']);
  expect(r.exitCode).toBe(2);
});

test('reassign: an eligible target is accepted and the task finishes there; ineligible and unknown ones are rejected', async () => {
  const handle = await startTask(fleet.client, { name: 'long', command: node('scripts/sleep.js', '6'), host: 'rc-cpu' });
  await waitUntil(async () => (await handle.describe()).raw.pendingActivities?.[0]?.state === 2 /* STARTED */);
  const rejection = (to: string) => handle.executeUpdate(reassignUpdate, { args: [{ to }] }).then(
    () => 'accepted',
    (err: unknown) => {
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return String((err as { cause?: { message?: string } }).cause?.message);
    },
  );
  expect(await rejection('cuda')).toMatch(/class "cuda" is not allowed for this task/);
  expect(await rejection('dtf-cuda-7gb')).toMatch(/unknown queue "dtf-cuda-7gb"/);
  expect(await rejection('no-such-host')).toMatch(/no live worker serves host "no-such-host"/);
  const accepted = await handle.executeUpdate(reassignUpdate, { args: [{ to: 'rc-gpu-24', reason: 'test' }] });
  expect(accepted.queue).toBe('dtf-host-rc-gpu-24');
  const r = (await handle.result()) as TestTaskResult;
  expect(r.status).toBe('passed');
  expect(r.hostId).toBe('rc-gpu-24');
  expect(r.recoveryLog.some((e) => e.action === 'reassign' && e.to === 'dtf-host-rc-gpu-24')).toBe(true);
}, 60_000);

test('reportFailure on the running host cancels the attempt and re-places the task on another host', async () => {
  const handle = await startTask(fleet.client, { name: 'report', command: node('scripts/sleep.js', '3'), host: 'rc-gpu-8' });
  await waitUntil(async () => (await handle.describe()).raw.pendingActivities?.[0]?.state === 2);
  await handle.signal(reportFailureSignal, { category: 'HARDWARE_PERFORMANCE_ERROR', message: 'GPU at 92 °C' });
  const r = (await handle.result()) as TestTaskResult;
  expect(r.status).toBe('passed');
  expect(r.hostId).not.toBe('rc-gpu-8');
  const progress = r.recoveryLog.map((e) => e.action);
  expect(progress).toEqual(expect.arrayContaining(['report-failure', 'relocate']));
  void progressQuery;
}, 60_000);

test('a worker killed mid-task (kill -9): the task completes on another host, the loss is in the recovery log', async () => {
  const handle = await startTask(fleet.client, { name: 'killed', command: node('scripts/sleep.js', '4') });
  let identity: string | undefined;
  await waitUntil(async () => {
    const p = (await handle.describe()).raw.pendingActivities?.[0];
    identity = p?.state === 2 ? (p.lastWorkerIdentity ?? undefined) : undefined;
    return !!identity;
  });
  const victimHost = parseWorkerIdentity(identity!)!.hostId;
  const victim = fleet.workers.find((w) => w.spec.hostId === victimHost)!;
  await new Promise((r) => setTimeout(r, 1000));
  const killedAt = Date.now();
  await victim.stop('SIGKILL');
  const r = (await handle.result()) as TestTaskResult;
  expect(r.status).toBe('passed');
  expect(r.hostId).not.toBe(victimHost);
  expect(r.recoveryLog).toEqual(
    expect.arrayContaining([expect.objectContaining({ category: 'WORKER_CRASH_ERROR', rule: 'heartbeat-timeout', hostId: victimHost, attempt: 1 })]),
  );
  // Heartbeat timeout is 3 s, and the rerun takes 4 s: the whole recovery fits well under 15 s.
  expect(Date.now() - killedAt).toBeLessThan(15_000);
}, 60_000);

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
