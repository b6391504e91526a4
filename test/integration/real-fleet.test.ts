/**
 * The shapes a real fleet has every day, on a real server with real worker processes: a backlog longer than any
 * timeout, more GPU tasks than GPUs, multi-GPU tasks, setup and teardown slower than a heartbeat timeout, a frozen
 * worker, control activities that fail, operator moves racing with retries, and continue-as-new.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, startTasks, waitForTasks } from '../../src/cli/submit';
import { WORKFLOW_TASK_QUEUE, parseWorkerIdentity } from '../../src/domain/hardware';
import type { TestTaskResult } from '../../src/domain/task-result';
import { LocalFleet } from '../../src/server/local-fleet';
import { reassignUpdate } from '../../src/workflows/messages';
import { node, runTask, spec, startTask, startTestFleet, waitUntil } from '../helpers';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-fleet-'));
/** A command that appends "<event> <CUDA_VISIBLE_DEVICES> <ms>" lines to a log around a sleep. */
const gpuUse = (log: string, seconds: number) => [
  process.execPath,
  '-e',
  `const fs=require('fs');const w=(e)=>fs.appendFileSync(${JSON.stringify(log)},e+' '+process.env.CUDA_VISIBLE_DEVICES+' '+Date.now()+'\\n');w('start');setTimeout(()=>w('end'),${seconds * 1000})`,
];
/** Most "start" lines open at once in such a log. */
function maxConcurrent(log: string): number {
  let open = 0;
  let max = 0;
  const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
  events.sort((a, b) => Number(a[2]) - Number(b[2]) || (a[0] === 'end' ? -1 : 1));
  for (const [event] of events) {
    open += event === 'start' ? 1 : -1;
    max = Math.max(max, open);
  }
  return max;
}
const bounced = (results: TestTaskResult[]) =>
  results.flatMap((r) => r.recoveryLog).filter((e) => ['gpu-lease-busy', 'host-quarantined', 'host-does-not-meet-requirement'].includes(e.rule ?? '')).length;

describe('a backlog is waiting, not failing', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    fleet = await startTestFleet([{ hostId: 'bk-cpu', extraArgs: ['--max-tasks', '1'] }]);
  });
  afterAll(() => fleet?.stop());

  test('five tasks behind one slot, each waiting longer than its placement timeout, all pass on their first attempt', async () => {
    const tasks = [...Array(5).keys()].map((i) => spec({ name: `backlog-${i}`, command: node('scripts/sleep.js', '2'), placementTimeoutSeconds: 2 }));
    const batch = newBatchId();
    const started = Date.now();
    const results = await waitForTasks(await startTasks(fleet.client, tasks, batch), tasks);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('passed'));
    expect(results.map((r) => r.attempts)).toEqual(Array(5).fill(1));
    expect(results.flatMap((r) => r.recoveryLog)).toEqual([]);
    // One slot: they ran one after the other, the last waiting about 8 s on the queue.
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 2_000);
  });

  test('a batch submitted behind a large one gets its share of the slot (fairness by batch)', async () => {
    const log = path.join(root, 'fair.log');
    const mark = (name: string) => [process.execPath, '-e', `setTimeout(()=>require('fs').appendFileSync(${JSON.stringify(log)},${JSON.stringify(name)}+'\\n'),700)`];
    const big = [...Array(6).keys()].map((i) => spec({ name: `big-${i}`, command: mark(`big-${i}`) }));
    const small = [...Array(2).keys()].map((i) => spec({ name: `small-${i}`, command: mark(`small-${i}`) }));
    const bigHandles = await startTasks(fleet.client, big, newBatchId());
    await new Promise((r) => setTimeout(r, 300));
    const smallHandles = await startTasks(fleet.client, small, newBatchId());
    await waitForTasks([...bigHandles, ...smallHandles], [...big, ...small]);
    const order = fs.readFileSync(log, 'utf8').trim().split('\n');
    // First come, first served would run both small tasks last (positions 7 and 8).
    expect(order.indexOf('small-1')).toBeLessThan(6);
  });

  test('queueTimeoutSeconds ends a task that waited too long as expired, with the reason', async () => {
    const blocker = await startTask(fleet.client, { name: 'qt-blocker', command: node('scripts/sleep.js', '6') });
    await new Promise((r) => setTimeout(r, 500));
    const late = await runTask(fleet.client, { name: 'qt-late', command: ['true'], queueTimeoutSeconds: 2 });
    expect(late.status).toBe('expired');
    expect(late.reason).toMatch(/waited 2 s on queues without starting/);
    expect(late.attempts).toBe(0);
    await blocker.result();
  });
});

describe('a host takes exactly what it can run', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    fleet = await startTestFleet([
      { hostId: 'gx-a', simulateGpus: ['L4:24:8.9', 'L4:24:8.9'], extraArgs: ['--max-tasks', '4', '--no-cpu-tasks'] },
      { hostId: 'gx-b', simulateGpus: ['A10:24:8.6'], extraArgs: ['--max-tasks', '4'] },
    ]);
  });
  afterAll(() => fleet?.stop());

  test('12 one-GPU tasks on 3 GPUs: never more at once than GPUs, no bounced attempt, GPUs kept busy', async () => {
    const log = path.join(root, 'gpu-12.log');
    const tasks = [...Array(12).keys()].map((i) => spec({ name: `gpu-${i}`, command: gpuUse(log, 1.5), hardware: { class: 'cuda', minGpuMemoryGb: 8 } }));
    const started = Date.now();
    const results = await waitForTasks(await startTasks(fleet.client, tasks, newBatchId()), tasks);
    const makespanS = (Date.now() - started) / 1000;
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('passed'));
    expect(maxConcurrent(log)).toBeLessThanOrEqual(3);
    expect(bounced(results)).toBe(0);
    // Ideal: 12 × 1.5 s over 3 GPUs = 6 s; allow for process start-up on 2 shared cores.
    expect(makespanS).toBeLessThan(6 * 2.5);
    const byHost = new Map<string, number>();
    for (const r of results) byHost.set(r.hostId!, (byHost.get(r.hostId!) ?? 0) + 1);
    expect([...byHost.keys()].sort()).toEqual(['gx-a', 'gx-b']);
  });

  test('a 2-GPU task gets exactly both GPUs of the 2-GPU host, never the 1-GPU host', async () => {
    const log = path.join(root, 'gpu-multi.log');
    const r = await runTask(fleet.client, { name: 'two-gpus', command: gpuUse(log, 0.2), hardware: { class: 'cuda', gpus: 2 } });
    expect(r.status).toBe('passed');
    expect(r.hostId).toBe('gx-a');
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^start 0,1 /);
  });

  test('a host kept for GPU work takes no CPU task', async () => {
    const results = await Promise.all([...Array(4).keys()].map((i) => runTask(fleet.client, { name: `cpu-only-${i}`, command: ['true'] })));
    expect(results.map((r) => r.hostId)).toEqual(Array(4).fill('gx-b'));
  });
});

describe('every step heartbeats, and a heartbeat timeout follows the crash policy', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    fleet = await startTestFleet([{ hostId: 'hb-a' }, { hostId: 'hb-b' }]);
  });
  afterAll(async () => {
    for (const w of fleet?.workers ?? []) w.process.kill('SIGCONT');
    await fleet?.stop();
  });

  test('setup and teardown slower than the heartbeat timeout pass on attempt 1', async () => {
    const r = await runTask(fleet.client, {
      name: 'slow-steps',
      command: ['true'],
      setup: [{ name: 'warm-cache', command: ['sleep', '5'], teardown: ['sleep', '5'] }],
    });
    expect(r.status).toBe('passed');
    expect(r.attempts).toBe(1);
    expect(r.recoveryLog).toEqual([]);
  });

  test('a frozen worker is a WORKER_CRASH_ERROR: moved once to another host, not retried 20 times', async () => {
    const handle = await startTask(fleet.client, { name: 'frozen', command: node('scripts/sleep.js', '4') });
    let identity: string | undefined;
    async function poll() {
      while (!identity) {
        const p = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'runTestTask');
        identity = p?.state === 2 ? (p.lastWorkerIdentity ?? undefined) : undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    void poll();
    await waitUntil('the attempt to start', () => identity !== undefined, 30_000);
    await new Promise((r) => setTimeout(r, 600)); // past the first heartbeat
    const victim = fleet.workers.find((w) => w.spec.hostId === parseWorkerIdentity(identity!)!.hostId)!;
    victim.process.kill('SIGSTOP');
    try {
      const r = (await handle.result()) as TestTaskResult;
      expect(r.status).toBe('passed');
      expect(r.hostId).not.toBe(victim.spec.hostId);
      expect(r.attempts).toBe(2);
      const crash = r.recoveryLog.filter((e) => e.rule === 'heartbeat-timeout');
      expect(crash).toEqual([expect.objectContaining({ action: 'relocate', category: 'WORKER_CRASH_ERROR', hostId: victim.spec.hostId, attempt: 1 })]);
    } finally {
      victim.process.kill('SIGCONT');
    }
  });
});

describe('the workflow is robust to its own plumbing', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    // The failures these tests cause on purpose must not quarantine the hosts.
    const config = path.join(root, 'no-quarantine.yaml');
    fs.writeFileSync(config, 'quarantine: {threshold: 100}\n');
    const args = ['--inject-control', 'listQueueHosts,notifyDeadLettered', '--config', config];
    fleet = await startTestFleet([{ hostId: 'pl-a', extraArgs: args }, { hostId: 'pl-b', extraArgs: args }]);
  });
  afterAll(() => fleet?.stop());

  test('a failing host discovery degrades to the class queue, and a failing notification still parks the task', async () => {
    // Fails on whichever host runs it first, with a host-attributed error: recovery must find another host.
    const marker = path.join(root, 'first-host');
    const r = await runTask(fleet.client, {
      name: 'discovery-down',
      command: [process.execPath, '-e', `const fs=require('fs');const f=${JSON.stringify(marker)};if(!fs.existsSync(f)){fs.writeFileSync(f,'x');console.error('RuntimeError: No CUDA GPUs are available');process.exit(1)}`],
    });
    expect(r.status).toBe('passed');
    expect(r.recoveryLog.find((e) => e.action === 'relocate')?.reason).toMatch(/host discovery failed .*so back to dtf-cpu/);

    const parked = await runTask(fleet.client, { name: 'notify-down', command: [process.execPath, '-e', 'process.exit(3)'], retry: { UNKNOWN_ERROR: { maxAttemptsInPlace: 1 } } });
    expect(parked.status).toBe('dead_lettered');
  });

  test('a reassign to a host is rejected with the reason when liveness cannot be checked; the task runs on', async () => {
    // Long enough that the update (whose liveness check fails three times first) is answered before the task ends.
    const handle = await startTask(fleet.client, { name: 'reassign-blind', command: node('scripts/sleep.js', '6') });
    let message = '';
    try {
      await handle.executeUpdate(reassignUpdate, { args: [{ to: 'pl-b' }] });
    } catch (err) {
      message = String((err as { cause?: Error }).cause?.message ?? err);
    }
    expect(message).toMatch(/cannot check that host "pl-b" is live/);
    expect(((await handle.result()) as TestTaskResult).status).toBe('passed');
  });
});

describe('operator moves and long histories', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    fleet = await startTestFleet([{ hostId: 'op-a' }, { hostId: 'op-b' }]);
  });
  afterAll(() => fleet?.stop());

  test('a reassign that arrives during a retry backoff applies to the next attempt, at once', async () => {
    const handle = await startTask(fleet.client, {
      name: 'reassign-race',
      command: [process.execPath, '-e', `if(process.env.DTF_HOST!=='op-b'){console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}`],
      host: 'op-a',
      retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 20_000, maxDelayMs: 20_000, jitter: 0 } },
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const desc = await handle.describe();
      if (desc.typedSearchAttributes.getAll().some((p) => p.key.name === 'DtfStatus' && p.value === 'retrying')) break;
      if (Date.now() > deadline) throw new Error('the task never went into its backoff');
      await new Promise((r) => setTimeout(r, 100));
    }
    const asked = Date.now();
    const res = await handle.executeUpdate(reassignUpdate, { args: [{ to: 'op-b', reason: 'move it' }] });
    expect(res).toMatchObject({ queue: 'dtf-host-op-b', accepted: true, appliesToAttempt: 2 });
    const r = (await handle.result()) as TestTaskResult;
    expect(r.status).toBe('passed');
    expect(r.hostId).toBe('op-b');
    expect(r.attempts).toBe(2);
    expect(Date.now() - asked).toBeLessThan(15_000); // not after the 20 s backoff
    expect(r.recoveryLog.map((e) => e.action).filter((a) => a !== 'compensate')).toEqual(['retry-in-place', 'reassign', 'move']);
  });

  test('continue-as-new carries the state: attempts, recovery log and placements survive into the new run', async () => {
    const counter = path.join(root, 'can-counter');
    const handle = await fleet.client.workflow.start('testTaskWorkflow', {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: `dtf-can-${newBatchId()}`,
      args: [
        {
          spec: spec({
            name: 'can',
            command: [process.execPath, '-e', `const fs=require('fs');const f=${JSON.stringify(counter)};const n=fs.existsSync(f)?+fs.readFileSync(f,'utf8'):0;fs.writeFileSync(f,String(n+1));if(n<3){console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}`],
            retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 100, maxDelayMs: 100, maxAttemptsInPlace: 10 } },
          }),
          historyLimit: 20,
        },
      ],
    });
    const r = (await handle.result()) as TestTaskResult;
    expect(r.status).toBe('passed');
    expect(r.attempts).toBe(4);
    expect(r.recoveryLog.filter((e) => e.action === 'retry-in-place')).toHaveLength(3);
    expect(r.recoveryLog.some((e) => e.action === 'continue-as-new')).toBe(true);
    const runs = new Set<string>();
    for await (const wf of fleet.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.add(wf.runId);
    expect(runs.size).toBeGreaterThan(1);
  });
});
