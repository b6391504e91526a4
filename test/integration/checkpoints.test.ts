/**
 * Checkpoints and artifacts on a real server with two real worker processes: a counting command that checkpoints
 * every step is killed with its worker (kill -9) part-way and resumes on the other host from its last checkpoint;
 * the artifacts of both attempts are listed in the result and lie in the store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandsRunningUnder } from '../../src/activities/saga';
import { runningAttemptHeartbeat } from '../../src/cli/task-view';
import { readStartedLog } from '../../bench/checkpointed-count';
import type { AttemptHeartbeat, TestTaskResult } from '../../src/domain/task-result';
import { LocalFleet, WorkerSpec } from '../../src/server/local-fleet';
import { reassignUpdate } from '../../src/workflows/messages';
import { node, runTask, startTask, startTestFleet, waitUntil } from '../helpers';

let fleet: LocalFleet;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-ckpt-'));
const store = path.join(root, 'store');
const workDir = (host: string) => path.join(root, 'work', host);
const hosts = ['ck-a', 'ck-b'];
const workerSpec = (hostId: string): WorkerSpec => ({ hostId, extraArgs: ['--work-dir', workDir(hostId), '--artifact-dir', store] });

beforeAll(async () => {
  fleet = await startTestFleet(hosts.map(workerSpec));
});

afterAll(async () => {
  // The command of a killed worker outlives it (its own process group); a restarted worker would stop it.
  for (const host of hosts) for (const pid of await commandsRunningUnder(workDir(host))) process.kill(pid, 'SIGKILL');
  await fleet?.stop();
});

const starts = readStartedLog;

test('a command killed with its worker resumes on the other host from its last checkpoint; both attempts\' artifacts are kept', async () => {
  const startedLog = path.join(root, 'starts.jsonl');
  const handle = await startTask(fleet.client, {
    name: 'ckpt-count',
    command: node('scripts/checkpointed-count.js', '--to', '30', '--step-ms', '500', '--started-log', startedLog),
    artifacts: ['out/**'],
  });
  // Until the running attempt's heartbeat carries its third checkpoint.
  let beat: AttemptHeartbeat | undefined;
  const deadline = Date.now() + 45_000;
  while (!((beat?.carry?.checkpoint?.seq ?? 0) >= 3)) {
    if (Date.now() > deadline) throw new Error(`no third checkpoint in the heartbeat details; last: ${JSON.stringify(beat)}`);
    await new Promise((r) => setTimeout(r, 250));
    beat = (await runningAttemptHeartbeat(fleet.client, await handle.describe()))?.beat;
  }
  const [first] = starts(startedLog);
  expect(first).toMatchObject({ from: 0, restored: false, seq: 0, attempt: 1 });
  const victim = fleet.workers.find((w) => w.spec.hostId === first.host)!;
  const killedAt = Date.now();
  await victim.stop('SIGKILL');
  await waitUntil('the next attempt to start', () => starts(startedLog).length === 2, 30_000, 50);
  const second = starts(startedLog)[1];
  const resumeMs = second.at - killedAt;
  console.log(`resumed from checkpoint ${second.seq} (step ${second.from}) on ${second.host} ${resumeMs} ms after kill -9`);

  const r = (await handle.result()) as TestTaskResult;
  expect(r.status).toBe('passed');
  const other = hosts.find((h) => h !== first.host)!;
  expect(r.hostId).toBe(other);
  // The next attempt ran on the other host with the checkpoint restored, from where the first one had got to.
  expect(second).toMatchObject({ host: other, restored: true, attempt: 2 });
  expect(second.seq).toBeGreaterThanOrEqual(3);
  expect(second.from).toBeGreaterThanOrEqual(second.seq);
  expect(second.from).toBeLessThan(30);
  expect(r.outputTail).toContain(`starting at step ${second.from} of 30 on ${other} (attempt 2, checkpoint restored: true, seq ${second.seq})`);
  expect(r.outputTail).not.toContain('step 1/30\n');
  expect(r.recoveryLog).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ action: 'relocate', category: 'WORKER_CRASH_ERROR', rule: 'heartbeat-timeout', hostId: first.host }),
      expect.objectContaining({ action: 'resume', attempt: 2, reason: expect.stringMatching(new RegExp(`^resumed from checkpoint ${second.seq} \\(attempt 1 on ${first.host}, \\d+ bytes inline\\)`)) }),
    ]),
  );
  // A kill -9 is found by the 3 s heartbeat timeout; the next attempt follows within seconds.
  expect(resumeMs).toBeLessThan(20_000);

  // Artifacts of both attempts: the killed one's as copied at its last checkpoint, the passing one's at its end.
  const byAttempt = (n: number) => (r.artifacts ?? []).filter((a) => a.attempt === n);
  expect(byAttempt(1).map((a) => [a.path, a.host])).toEqual([['out/count.log', first.host]]);
  expect(byAttempt(2).map((a) => [a.path, a.host]).sort()).toEqual([
    ['out/count.log', other],
    ['out/result.json', other],
  ]);
  for (const a of r.artifacts!) {
    expect(Object.keys(a).sort()).toEqual(['attempt', 'bytes', 'host', 'path', 'url']);
    expect(a.url.startsWith('file://')).toBe(true);
    // The killed attempt's record is as of its last heartbeat; a later copy may have reached the store before the kill.
    if (a.attempt === 2) expect(fs.statSync(fileURLToPath(a.url)).size).toBe(a.bytes);
    else expect(fs.statSync(fileURLToPath(a.url)).size).toBeGreaterThanOrEqual(a.bytes);
    expect(fileURLToPath(a.url).startsWith(path.join(store, handle.workflowId, String(a.attempt)) + path.sep)).toBe(true);
  }
  expect(fs.readFileSync(fileURLToPath(byAttempt(1)[0].url), 'utf8')).toMatch(/^start at 0 on /);
  expect(JSON.parse(fs.readFileSync(fileURLToPath(byAttempt(2).find((a) => a.path === 'out/result.json')!.url), 'utf8'))).toEqual({ counted: 30, resumedFrom: second.from });
  expect(r.checkpoint).toMatchObject({ attempt: 2, host: other });
  expect(r.checkpoint!.seq).toBeGreaterThan(second.seq);

  // The killed host comes back (its start-up sweep stops the command it left running).
  fleet.workers.splice(fleet.workers.indexOf(victim), 1);
  await fleet.addWorker(workerSpec(first.host));
}, 120_000);

test('a task reassigned mid-run takes its checkpoint along: the attempt on the new host starts from it', async () => {
  const startedLog = path.join(root, 'starts-reassign.jsonl');
  const handle = await startTask(fleet.client, {
    name: 'ckpt-move',
    command: node('scripts/checkpointed-count.js', '--to', '16', '--step-ms', '300', '--started-log', startedLog),
  });
  await waitUntil('the first run to start', () => starts(startedLog).length === 1, 30_000, 50);
  await new Promise((r) => setTimeout(r, 2_500));
  const [first] = starts(startedLog);
  const to = hosts.find((h) => h !== first.host)!;
  await handle.executeUpdate(reassignUpdate, { args: [{ to, reason: 'move with its checkpoint' }] });
  const r = (await handle.result()) as TestTaskResult;
  expect(r.status).toBe('passed');
  const second = starts(startedLog)[1];
  expect(second).toMatchObject({ host: to, restored: true });
  expect(second.from).toBeGreaterThan(0);
  expect(r.recoveryLog.find((e) => e.action === 'resume')!.reason).toMatch(new RegExp(`^resumed from checkpoint ${second.seq} \\(attempt 1 on ${first.host}, `));
}, 60_000);

test('a failed attempt keeps its artifacts and passes its checkpoint to the retry in place', async () => {
  // Fails with a refused connection (retried in place) once it has written its checkpoint; the retry goes on from it.
  const script = [
    "const fs=require('fs'),p=process.env.DTF_CHECKPOINT_DIR+'/n';",
    "const n=fs.existsSync(p)?Number(fs.readFileSync(p,'utf8')):0;",
    "fs.writeFileSync('report.txt','attempt '+process.env.DTF_ATTEMPT+' saw '+n);",
    "if(n===0){fs.writeFileSync(p,'7');console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}",
    "console.log('resumed at '+n+' restored='+process.env.DTF_CHECKPOINT_RESTORED);",
  ].join('');
  const r = await runTask(fleet.client, {
    name: 'ckpt-retry',
    command: [process.execPath, '-e', script],
    artifacts: ['report.txt', 'missing/**'],
    retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 200, maxDelayMs: 200 } },
  });
  expect(r.status).toBe('passed');
  expect(r.outputTail).toContain('resumed at 7 restored=1');
  expect(r.recoveryLog.map((e) => e.action)).toEqual(expect.arrayContaining(['retry-in-place', 'resume']));
  expect(r.recoveryLog.find((e) => e.action === 'resume')!.reason).toMatch(/^resumed from checkpoint 1 \(attempt 1 on /);
  const reports = r.artifacts!.map((a) => [a.attempt, a.path, fs.readFileSync(fileURLToPath(a.url), 'utf8')]);
  expect(reports).toEqual([
    [1, 'report.txt', 'attempt 1 saw 0'],
    [2, 'report.txt', 'attempt 2 saw 7'],
  ]);
}, 60_000);
