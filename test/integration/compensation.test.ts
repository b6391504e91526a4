/**
 * Compensation on a real server with real worker processes: after every failure path, list what exists on the
 * worker (workspaces, GPU leases, manifests) and in the external artifact directory — nothing may be left.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftoversOn } from '../../src/activities/saga';
import { parseWorkerIdentity } from '../../src/domain/hardware';
import type { TestTaskResult } from '../../src/domain/task-result';
import { LocalFleet, WorkerSpec } from '../../src/server/local-fleet';
import { node, runTask, startTask, startTestFleet } from '../helpers';
import { settledResult } from '../../src/cli/submit';

let fleet: LocalFleet;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-comp-'));
const workDir = (host: string) => path.join(root, 'work', host);
const artifacts = path.join(root, 'artifacts');
const workerSpec = (hostId: string): WorkerSpec => ({ hostId, simulateGpus: ['A10:24:8.6'], extraArgs: ['--work-dir', workDir(hostId)] });

beforeAll(async () => {
  fleet = await startTestFleet([workerSpec('cp-a'), workerSpec('cp-b')]);
});

afterAll(async () => {
  await fleet?.stop();
});

const setup = (...names: string[]) =>
  names.map((n) => ({ name: n, command: node('scripts/artifact.js', 'create', artifacts, n), teardown: node('scripts/artifact.js', 'remove', artifacts, n) }));

const nothingLeft = async () => {
  expect(fs.existsSync(artifacts) ? fs.readdirSync(artifacts) : []).toEqual([]);
  for (const host of ['cp-a', 'cp-b']) expect(await leftoversOn(workDir(host))).toEqual([]);
};

test('a failing multi-step task undoes its setup, GPU lease and workspace in reverse order', async () => {
  const r = await runTask(fleet.client, {
    name: 'comp-fail',
    command: [process.execPath, '-e', 'require("assert").strictEqual(1, 2)'],
    hardware: { class: 'cuda', minGpuMemoryGb: 16 },
    setup: setup('dataset', 'checkpoint'),
  });
  expect(r.status).toBe('failed');
  const comp = r.recoveryLog.find((e) => e.action === 'compensate')!;
  expect(comp.reason).toMatch(/^undone in reverse: teardown checkpoint, teardown dataset, release GPU 0, remove workspace /);
  await nothingLeft();
});

test('a setup step that fails part-way undoes only the steps that succeeded', async () => {
  const r = await runTask(fleet.client, {
    name: 'comp-setup',
    command: [process.execPath, '-e', '0'],
    setup: [...setup('dataset'), { name: 'broken', command: [process.execPath, '-e', 'process.exit(4)'], teardown: ['false'] }],
    deadLetterRetentionSeconds: 0,
  });
  expect(r.status).not.toBe('passed');
  expect((r.report as { message: string }).message).toBe('setup step "broken" exited with code 4');
  const comps = r.recoveryLog.filter((e) => e.action === 'compensate');
  expect(comps.length).toBeGreaterThan(0);
  for (const c of comps) expect(c.reason).toMatch(/^undone in reverse: teardown dataset, remove workspace /);
  await nothingLeft();
});

test('a worker killed mid-task leaves its steps (and its still running command) behind until it restarts, then undoes them', async () => {
  const handle = await startTask(fleet.client, {
    name: 'comp-kill',
    // The first attempt outlives its worker by far (its own process group); the retry elsewhere is quick.
    command: [process.execPath, '-e', `setTimeout(() => {}, process.env.DTF_ATTEMPT === '1' ? 60000 : 500)`],
    hardware: { class: 'cuda' },
    setup: setup('shard'),
  });
  let identity: string | undefined;
  while (!identity) {
    const p = (await handle.describe()).raw.pendingActivities?.[0];
    identity = p?.state === 2 ? (p.lastWorkerIdentity ?? undefined) : undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  const victim = fleet.workers.find((w) => w.spec.hostId === parseWorkerIdentity(identity!)!.hostId)!;
  await new Promise((r) => setTimeout(r, 700));
  await victim.stop('SIGKILL');
  const left = await leftoversOn(workDir(victim.spec.hostId));
  expect(left.some((l) => l.startsWith('workspace:'))).toBe(true);
  expect(left.some((l) => l.startsWith('lease:'))).toBe(true);
  expect(left.some((l) => l.startsWith('process:'))).toBe(true); // the orphaned command, still holding "its" GPU
  const r = (await settledResult(handle, 250)) as TestTaskResult;
  expect(r.status).toBe('passed');
  fleet.workers.splice(fleet.workers.indexOf(victim), 1);
  // Someone else's things in the same work dir: the sweep removes only what dtf marked as its own.
  const dir = workDir(victim.spec.hostId);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not dtf\'s');
  fs.mkdirSync(path.join(dir, 'datasets', 'imagenet'), { recursive: true });
  await fleet.addWorker(victim.spec); // the restarted worker sweeps what its predecessor left
  await nothingLeft();
  expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('not dtf\'s');
  expect(fs.existsSync(path.join(dir, 'datasets', 'imagenet'))).toBe(true);
  expect(fs.readFileSync(fleet.workers.at(-1)!.logFile, 'utf8')).toMatch(/left 2 entries under the work dir alone/);
}, 60_000);

test('two CUDA tasks on a one-GPU host never hold its GPU at the same time, and the second waits rather than bounces', async () => {
  const log = path.join(root, 'gpu-use.log');
  const hold = (name: string) => ({
    name,
    command: [process.execPath, '-e', `const fs=require('fs');fs.appendFileSync(${JSON.stringify(log)},'start '+process.env.CUDA_VISIBLE_DEVICES+' '+Date.now()+'\\n');setTimeout(()=>fs.appendFileSync(${JSON.stringify(log)},'end '+Date.now()+'\\n'),800)`],
    hardware: { class: 'cuda' as const },
    host: 'cp-a',
    retry: { RESOURCE_ALLOCATION_ERROR: { initialDelayMs: 300, maxAttemptsInPlace: 10 } },
  });
  const [a, b] = await Promise.all([runTask(fleet.client, hold('gpu-1')), runTask(fleet.client, hold('gpu-2'))]);
  expect([a.status, b.status]).toEqual(['passed', 'passed']);
  const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
  expect(events).toEqual(['start', 'end', 'start', 'end']); // never start, start
  const busy = [a, b].flatMap((r) => r.recoveryLog).filter((e) => e.rule === 'gpu-lease-busy');
  expect(busy).toEqual([]); // the host took the second only once its GPU was free
  await nothingLeft();
});
