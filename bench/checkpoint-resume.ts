/**
 * Time to resume from a checkpoint after kill -9: a counting command checkpoints every step; the worker running it
 * is killed (SIGKILL) once its heartbeat carries a checkpoint; measured until the command of the next attempt, on
 * the other host, is running with that checkpoint restored (the command's own start time, same clock). Two kinds:
 * a small checkpoint (inline in heartbeat details) and a large one (in the artifact store, by reference).
 * Real server (its own dev server on a free port), real worker processes. Last line is JSON.
 * Usage: node dist/bench/checkpoint-resume.js [--runs N] [--blob-bytes N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, startTasks } from '../src/cli/submit';
import { runningAttemptHeartbeat } from '../src/cli/task-view';
import type { AttemptHeartbeat, TestTaskResult } from '../src/domain/task-result';
import { TestTaskSpec } from '../src/domain/task-spec';
import { freePort } from '../src/server/dev-server';
import { LocalFleet, WorkerProcess, startLocalFleet } from '../src/server/local-fleet';
import { REPO_ROOT } from '../src/server/temporal-cli';
import { readStartedLog } from './checkpointed-count';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (m: string) => console.log(`[checkpoint-resume] ${m}`);

async function oneRun(fleet: LocalFleet, root: string, run: string, blobBytes: number): Promise<{ ms: number; seq: number; bytes: number; inline: boolean }> {
  const startedLog = path.join(root, `${run}.jsonl`);
  const script = path.join(REPO_ROOT, 'examples', 'scripts', 'checkpointed-count.js');
  const spec = TestTaskSpec.parse({
    name: run,
    command: [process.execPath, script, '--to', '24', '--step-ms', '300', '--started-log', startedLog, '--blob-bytes', String(blobBytes)],
  });
  const [handle] = await startTasks(fleet.client, [spec], newBatchId());
  const starts = () => readStartedLog(startedLog);
  let beat: AttemptHeartbeat | undefined;
  const deadline = Date.now() + 60_000;
  while (!((beat?.carry?.checkpoint?.seq ?? 0) >= 2)) {
    if (Date.now() > deadline) throw new Error(`${run}: no second checkpoint in the heartbeat details`);
    await sleep(100);
    beat = (await runningAttemptHeartbeat(fleet.client, await handle.describe()))?.beat;
  }
  const checkpoint = beat!.carry!.checkpoint!;
  const victim = fleet.workers.find((w) => w.spec.hostId === starts()[0].host) as WorkerProcess;
  const killedAt = Date.now();
  victim.process.kill('SIGKILL');
  while (starts().length < 2) {
    if (Date.now() - killedAt > 60_000) throw new Error(`${run}: no next attempt within 60 s`);
    await sleep(20);
  }
  const next = starts()[1];
  if (!next.restored || next.seq < checkpoint.seq || next.host === victim.spec.hostId) throw new Error(`${run}: the next attempt did not resume: ${JSON.stringify(next)}`);
  const result = (await handle.result()) as TestTaskResult;
  if (result.status !== 'passed') throw new Error(`${run}: task ended ${result.status}`);
  // Bring the killed host back (its start-up sweep stops the orphaned command) for the next run.
  fleet.workers.splice(fleet.workers.indexOf(victim), 1);
  await fleet.addWorker(victim.spec);
  const ms = next.at - killedAt;
  say(`${run}: killed ${victim.spec.hostId}; ${next.host} ran from checkpoint ${next.seq} (step ${next.from}, ${checkpoint.bytes} bytes, ${checkpoint.inline !== undefined ? 'inline' : 'in the store'}) ${ms} ms later`);
  return { ms, seq: next.seq, bytes: checkpoint.bytes, inline: checkpoint.inline !== undefined };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
};

async function main() {
  const runs = Number(arg('runs') ?? 3);
  const blobBytes = Number(arg('blob-bytes') ?? 8 * 1024 * 1024);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-ckpt-bench-'));
  const worker = (hostId: string) => ({ hostId, extraArgs: ['--work-dir', path.join(root, 'work', hostId), '--artifact-dir', path.join(root, 'store')] });
  const fleet = await startLocalFleet({ address: `127.0.0.1:${await freePort()}`, headless: true, workers: [worker('cr-a'), worker('cr-b')], logDir: path.join(root, 'logs'), log: say });
  const small: number[] = [];
  const large: number[] = [];
  let largeBytes = 0;
  try {
    for (let i = 1; i <= runs; i++) small.push((await oneRun(fleet, root, `resume-small-${i}`, 0)).ms);
    for (let i = 1; i <= runs; i++) {
      const r = await oneRun(fleet, root, `resume-large-${i}`, blobBytes);
      if (r.inline) throw new Error('the large checkpoint went inline');
      largeBytes = r.bytes;
      large.push(r.ms);
    }
  } finally {
    await fleet.stop();
  }
  console.log(JSON.stringify({ killToResumedCommandMs: { inline: { ...stats(small), runs: small.length }, store: { ...stats(large), runs: large.length, checkpointBytes: largeBytes } }, heartbeatTimeoutMs: 3000 }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
