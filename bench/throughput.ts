/**
 * Throughput: N trivial tasks (`true`) through dtf and through a bare Temporal workflow+activity, on one local
 * server in one run, same concurrency. Prints tasks/s for both and the ratio; last line is JSON.
 * Usage: node dist/bench/throughput.js [--tasks N per round] [--rounds R] [--concurrency C] [--address host:port]
 *   [--codec-key-file F]   (the payload codec on, for both sides: what encryption costs)
 *        [--metrics-bind HOST:PORT]  (metrics on: the process's Runtime serves Prometheus metrics, dtf's included)
 * DTF_SPAWNER=off: dtf's worker spawns its commands from this process too, as the bare baseline does.
 */
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import path from 'node:path';
import pino from 'pino';
import { connectClient, connectWorker } from '../src/config/connection';
import { newBatchId, startTasks } from '../src/cli/submit';
import { TestTaskSpec } from '../src/domain/task-spec';
import { startLocalFleet } from '../src/server/local-fleet';
import { startHostWorker } from '../src/workers/host-worker';
import * as bareActivities from './bare-activities';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main() {
  const tasks = arg('tasks', 100);
  const rounds = arg('rounds', 5);
  const concurrency = arg('concurrency', 20);
  const trueBin = '/bin/true';
  const addressArg = process.argv.indexOf('--address');
  const codecArg = process.argv.indexOf('--codec-key-file');
  const codecKeyFile = codecArg >= 0 ? process.argv[codecArg + 1] : undefined;
  const metricsArg = process.argv.indexOf('--metrics-bind');
  const metricsBind = metricsArg >= 0 ? process.argv[metricsArg + 1] : undefined;
  const fleet = await startLocalFleet({
    address: addressArg >= 0 ? process.argv[addressArg + 1] : '127.0.0.1:7255',
    headless: true,
    log: (m) => console.log(`[bench] ${m}`),
  });
  const client: Client = await connectClient({ address: fleet.address, codecKeyFile });

  // dtf: a real host worker (this process), the real workflow and activity.
  const dtfWorker = await startHostWorker({ address: fleet.address, codecKeyFile, hostId: 'bench-host', maxTasks: concurrency, logger: pino({ level: 'warn' }), metricsBind });
  // bare: the same command through the smallest workflow+activity, same connection settings and slots.
  const { connection, namespace, dataConverter } = await connectWorker({ address: fleet.address, codecKeyFile });
  const bare = await Worker.create({
    connection,
    namespace,
    dataConverter,
    taskQueue: 'bench-bare',
    workflowsPath: path.join(__dirname, 'bare-workflow.js'),
    activities: bareActivities,
    maxConcurrentActivityTaskExecutions: concurrency,
  });
  const bareRun = bare.run();
  // The routed baseline's activities: their own queue, another worker, the same slots.
  const bareActivityWorker = await Worker.create({ connection, namespace, dataConverter, taskQueue: 'bench-bare-activities', activities: bareActivities, maxConcurrentActivityTaskExecutions: concurrency });
  const bareActivityRun = bareActivityWorker.run();

  const runBare = (n: number) =>
    timeIt(() =>
      inBatches([...Array(n).keys()], concurrency, (i) =>
        client.workflow.execute('bareWorkflow', { taskQueue: 'bench-bare', workflowId: `bare-${newBatchId()}-${i}`, args: [[trueBin]] }),
      ),
    );
  const runBareRouted = (n: number) =>
    timeIt(() =>
      inBatches([...Array(n).keys()], concurrency, (i) =>
        client.workflow.execute('bareRoutedWorkflow', { taskQueue: 'bench-bare', workflowId: `bare-routed-${newBatchId()}-${i}`, args: [[trueBin], 'bench-bare-activities'] }),
      ),
    );
  const runDtf = (n: number) => {
    const batch = newBatchId();
    const specs = [...Array(n).keys()].map((i) => TestTaskSpec.parse({ name: `t${i}`, command: [trueBin] }));
    return timeIt(() =>
      inBatches(specs, concurrency, async (spec) => {
        const [h] = await startTasks(client, [spec], batch);
        const r = await h.result();
        if (r.status !== 'passed') throw new Error(`dtf task ${spec.name} ended ${r.status}`);
      }),
    );
  };

  // Warm-up (bundle load, connections, caches), then rounds that alternate which side goes first, so that neither
  // gets the warmer server; the median round is the figure (this 2-core machine is noisy).
  await runBare(10);
  await runBareRouted(10);
  await runDtf(10);
  const ratios: number[] = [];
  const routedRatios: number[] = [];
  let bareSeconds = 0;
  let routedSeconds = 0;
  let dtfSeconds = 0;
  for (let round = 0; round < rounds; round += 1) {
    // Rotate the order, so that no side always runs on the warmest (or the busiest) server.
    const order = [['bare', runBare], ['routed', runBareRouted], ['dtf', runDtf]] as const;
    const times: Record<string, number> = {};
    for (let k = 0; k < order.length; k += 1) {
      const [name, run] = order[(k + round) % order.length];
      times[name] = await run(tasks);
    }
    bareSeconds += times.bare;
    routedSeconds += times.routed;
    dtfSeconds += times.dtf;
    ratios.push(times.bare / times.dtf);
    routedRatios.push(times.routed / times.dtf);
    console.log(
      `[bench] round ${round + 1}: bare ${(tasks / times.bare).toFixed(1)} tasks/s, bare routed ${(tasks / times.routed).toFixed(1)}, dtf ${(tasks / times.dtf).toFixed(1)}; ratio ${(times.bare / times.dtf).toFixed(3)}, to routed ${(times.routed / times.dtf).toFixed(3)}`,
    );
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  };
  const medianRatio = median(ratios);
  const bareTasksPerSecond = (tasks * rounds) / bareSeconds;
  const dtfTasksPerSecond = (tasks * rounds) / dtfSeconds;
  console.log(`[bench] ${rounds} rounds of ${tasks} tasks, concurrency ${concurrency}, payload codec ${codecKeyFile ? 'on (AES-256-GCM)' : 'off'}`);
  console.log(`[bench] bare Temporal: ${bareTasksPerSecond.toFixed(1)} tasks/s (${bareSeconds.toFixed(2)} s); activity on the workflow's queue, dispatched eagerly`);
  console.log(`[bench] bare, routed: ${((tasks * rounds) / routedSeconds).toFixed(1)} tasks/s (${routedSeconds.toFixed(2)} s); activity on a queue of its own`);
  console.log(`[bench] dtf:           ${dtfTasksPerSecond.toFixed(1)} tasks/s (${dtfSeconds.toFixed(2)} s)`);
  let scrapedPassed: number | undefined;
  if (metricsBind) {
    // The endpoint really served: dtf's own count of the tasks it ran (warm-up included).
    const text = await (await fetch(`http://${metricsBind}/metrics`)).text();
    scrapedPassed = text.split('\n').filter((l) => l.startsWith('dtf_task_outcomes{') && l.includes('status="passed"')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    console.log(`[bench] metrics on at ${metricsBind}: dtf_task_outcomes{status="passed"} = ${scrapedPassed}, ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} series`);
  }
  bare.shutdown();
  bareActivityWorker.shutdown();
  await bareRun;
  await bareActivityRun;
  await dtfWorker.shutdown();
  await client.connection.close();
  await fleet.stop();
  console.log(
    JSON.stringify({
      dtfTasksPerSecond: round(dtfTasksPerSecond),
      bareTasksPerSecond: round(bareTasksPerSecond),
      ratio: round(dtfTasksPerSecond / bareTasksPerSecond, 3),
      medianRatio: round(medianRatio, 3),
      ratios: ratios.map((r) => round(r, 3)),
      bareRoutedTasksPerSecond: round((tasks * rounds) / routedSeconds),
      medianRatioToRouted: round(median(routedRatios), 3),
      codec: codecKeyFile ? 'aes-256-gcm' : 'none',
      metrics: metricsBind ? { bind: metricsBind, scrapedPassed } : false,
      // dtf's worker starts commands from its small spawner process; bare's activity spawns from this (large) one.
      spawner: process.env.DTF_SPAWNER !== 'off',
    }),
  );
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
