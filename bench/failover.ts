/**
 * Failover latency: kill -9 the worker process running a task, measure until the task's next attempt has started
 * on another host. Real server, real worker processes. Last line is JSON.
 * Usage: node dist/bench/failover.js [--runs N] [--address host:port]
 */
import { newBatchId, startTasks } from '../src/cli/submit';
import { parseWorkerIdentity } from '../src/domain/hardware';
import { TestTaskSpec } from '../src/domain/task-spec';
import { WorkerProcess, startLocalFleet } from '../src/server/local-fleet';
import path from 'node:path';

const STARTED = 2; // PendingActivityState.STARTED

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const runs = Number(arg('runs') ?? 5);
  const fleet = await startLocalFleet({
    address: arg('address') ?? '127.0.0.1:7256',
    headless: true,
    workers: [{ hostId: 'fo-a' }, { hostId: 'fo-b' }],
    log: (m) => console.log(`[failover] ${m}`),
  });
  const sleepScript = path.join(__dirname, '..', '..', 'examples', 'scripts', 'sleep.js');
  const samples: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const spec = TestTaskSpec.parse({ name: `failover-${run}`, command: [process.execPath, sleepScript, '8'] });
      const [handle] = await startTasks(fleet.client, [spec], newBatchId());
      // The test activity, not a control activity; each attempt is a new activity (the workflow retries).
      const pending = async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'runTestTask');
      let first;
      while (!((first = await pending()) && first.state === STARTED && first.lastWorkerIdentity)) await sleep(50);
      const victimHost = parseWorkerIdentity(first.lastWorkerIdentity!)!.hostId;
      const victim = fleet.workers.find((w) => w.spec.hostId === victimHost) as WorkerProcess;
      await sleep(1_200); // let it run (and heartbeat) for a moment
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      let next;
      for (;;) {
        next = await pending();
        if (next && next.activityId !== first.activityId && next.state === STARTED && next.lastWorkerIdentity && !next.lastWorkerIdentity.includes(`:${victimHost}:`)) break;
        if (Date.now() - killedAt > 60_000) throw new Error('no next attempt within 60 s');
        await sleep(25);
      }
      const ms = Date.now() - killedAt;
      samples.push(ms);
      console.log(`[failover] run ${run}: killed ${victimHost}; the next attempt started on ${parseWorkerIdentity(next.lastWorkerIdentity!)?.hostId} after ${ms} ms`);
      const result = await handle.result();
      if (result.status !== 'passed') throw new Error(`task ended ${result.status}`);
      // Bring the killed host back for the next run.
      fleet.workers.splice(fleet.workers.indexOf(victim), 1);
      await fleet.addWorker(victim.spec);
    }
  } finally {
    await fleet.stop();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(JSON.stringify({ killToNextAttemptMs: { median, max: sorted[sorted.length - 1] }, runs: samples.length }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
