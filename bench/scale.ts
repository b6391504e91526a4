/**
 * Scale and server cost: N tasks behind a limited number of slots, through dtf and through a bare Temporal
 * workflow + activity with its result awaited, on one local dev server whose own request counters
 * (`--metrics-port`) are read before and after each phase. Prints the figures; the last line is one JSON object.
 * Usage: node dist/bench/scale.js [--tasks 5000] [--workers 2] [--slots-per-worker 10] [--seconds 1] [--gpus-per-worker G]
 * With --gpus-per-worker, each worker simulates G GPUs of 24 GB and the tasks are CUDA tasks needing 8 GB: the slots
 * are then the GPUs, and bouncedAttempts says whether hosts took more GPU work than they had GPUs.
 */
import { Client, WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import path from 'node:path';
import { connectClient, connectWorker } from '../src/config/connection';
import { newBatchId, startTasks, waitForTasks } from '../src/cli/submit';
import type { TestTaskResult } from '../src/domain/task-result';
import { TestTaskSpec } from '../src/domain/task-spec';
import { freePort, serverRequestCounts, startDevServer } from '../src/server/dev-server';
import { startLocalFleet } from '../src/server/local-fleet';
import * as bareActivities from './bare-activities';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v < 0 || (v === 0 && dflt !== 0)) throw new Error(`--${name} must be a positive number, got ${process.argv[i + 1]}`);
  return v;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [op, n] of after) if (n - (before.get(op) ?? 0) > 0) out.set(op, n - (before.get(op) ?? 0));
  return out;
}
const top = (m: Map<string, number>, tasks: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([op, n]) => `${op} ${(n / tasks).toFixed(2)}`).join(', ');

/** Runs `fn` over items with at most `limit` in flight (the bare side's result long polls stay under the server's cap). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function main() {
  const tasks = arg('tasks', 5000);
  const workers = arg('workers', 2);
  const gpusPerWorker = arg('gpus-per-worker', 0);
  const slotsPerWorker = gpusPerWorker || arg('slots-per-worker', 10);
  const seconds = arg('seconds', 1);
  const slots = workers * slotsPerWorker;
  const idealSeconds = (tasks * seconds) / slots;
  const [port, metricsPort] = [await freePort(), await freePort()];
  const server = await startDevServer({ port, metricsPort, headless: true, log: (m) => console.log(`[scale] ${m}`) });
  const metrics = () => serverRequestCounts(server.metricsUrl!);
  const command = ['sleep', String(seconds)];
  try {
    const fleet = await startLocalFleet({
      address: server.address,
      workers: [...Array(workers).keys()].map((i) => ({
        hostId: `scale-${i}`,
        simulateGpus: Array(gpusPerWorker).fill('L4:24:8.9'),
        extraArgs: gpusPerWorker ? ['--no-cpu-tasks'] : ['--max-tasks', String(slotsPerWorker)],
      })),
    });
    const client: Client = fleet.client;

    // dtf: every task submitted at once, followed the way `dtf submit --wait` follows a batch.
    const hardware = gpusPerWorker ? { class: 'cuda' as const, minGpuMemoryGb: 8 } : undefined;
    const specs = [...Array(tasks).keys()].map((i) => TestTaskSpec.parse({ name: `s${i}`, command, placementTimeoutSeconds: 5, ...(hardware ? { hardware } : {}) }));
    let before = await metrics();
    let t0 = Date.now();
    const handles = await startTasks(client, specs, newBatchId());
    let done = 0;
    const results: TestTaskResult[] = await waitForTasks(handles, specs, {
      pollMs: 2_000,
      onResult: () => {
        done += 1;
        if (done % 500 === 0) console.log(`[scale] dtf ${done}/${tasks} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      },
    });
    const makespanSeconds = (Date.now() - t0) / 1000;
    const dtfRequests = delta(await metrics(), before);
    await fleet.stop();

    // bare: the same command behind the same number of slots, each result awaited (a long poll per task).
    const { connection, namespace } = await connectWorker({ address: server.address });
    // One worker with all the slots: the SDK allows one worker per queue in a process.
    const bareWorkers = [
      await Worker.create({ connection, namespace, taskQueue: 'scale-bare', workflowsPath: path.join(__dirname, 'bare-workflow.js'), activities: bareActivities, maxConcurrentActivityTaskExecutions: slots }),
    ];
    const running = bareWorkers.map((w) => w.run());
    const bc = await connectClient({ address: server.address });
    before = await metrics();
    t0 = Date.now();
    const batch = newBatchId();
    const bareHandles: WorkflowHandle[] = await pool([...Array(tasks).keys()], 200, (i) =>
      bc.workflow.start('bareWorkflow', { taskQueue: 'scale-bare', workflowId: `bare-${batch}-${i}`, args: [command] }),
    );
    await pool(bareHandles, 1000, (h) => h.result());
    const bareSeconds = (Date.now() - t0) / 1000;
    const bareRequests = delta(await metrics(), before);
    for (const w of bareWorkers) w.shutdown();
    await Promise.all(running);
    await bc.connection.close();

    const passed = results.filter((r) => r.status === 'passed').length;
    const deadLettered = results.filter((r) => r.status === 'dead_lettered').length;
    const bouncedAttempts = results.flatMap((r) => r.recoveryLog).filter((e) => ['gpu-lease-busy', 'host-quarantined', 'host-does-not-meet-requirement'].includes(e.rule ?? '')).length;
    const requestsPerTask = total(dtfRequests) / tasks;
    const bareRequestsPerTask = total(bareRequests) / tasks;
    console.log(`[scale] ${tasks} ${gpusPerWorker ? 'CUDA ' : ''}tasks of ${seconds} s behind ${slots} ${gpusPerWorker ? 'GPUs' : 'slots'} (${workers} workers × ${slotsPerWorker})`);
    console.log(`[scale] dtf:  ${passed} passed, ${deadLettered} dead-lettered, makespan ${makespanSeconds.toFixed(1)} s (ideal ${idealSeconds.toFixed(1)} s), ${requestsPerTask.toFixed(2)} requests/task`);
    console.log(`[scale]       ${top(dtfRequests, tasks)}`);
    console.log(`[scale] bare: makespan ${bareSeconds.toFixed(1)} s, ${bareRequestsPerTask.toFixed(2)} requests/task`);
    console.log(`[scale]       ${top(bareRequests, tasks)}`);
    console.log(
      JSON.stringify({
        tasks,
        passed,
        deadLettered,
        makespanSeconds: round(makespanSeconds),
        idealSeconds: round(idealSeconds),
        bareMakespanSeconds: round(bareSeconds),
        requestsPerTask: round(requestsPerTask, 2),
        bareRequestsPerTask: round(bareRequestsPerTask, 2),
        bouncedAttempts,
      }),
    );
  } finally {
    await server.stop();
  }
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
