/**
 * Where one task's time goes: runs tasks one at a time through dtf and through the routed bare baseline, then
 * reads each history and prints the median gap between consecutive events (start → WFT → activity → … → close).
 * Then it runs a concurrent round of each and prints the CPU time per task of this process (worker + client) and of
 * the server process: under load, CPU per task is what bounds throughput on a small machine.
 * Usage: node dist/bench/latency-breakdown.js [--tasks N] [--concurrent N] [--address host:port]
 */
import { Worker } from '@temporalio/worker';
import path from 'node:path';
import pino from 'pino';
import { connectClient, connectWorker } from '../src/config/connection';
import { newBatchId, startTasks } from '../src/cli/submit';
import { TestTaskSpec } from '../src/domain/task-spec';
import { startLocalFleet } from '../src/server/local-fleet';
import { startHostWorker } from '../src/workers/host-worker';
import * as bareActivities from './bare-activities';
import { temporal } from '@temporalio/proto';
import fs from 'node:fs';

const EventType = temporal.api.enums.v1.EventType;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function processCpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const n = arg('tasks', 20);
  const addressArg = process.argv.indexOf('--address');
  const fleet = await startLocalFleet({ address: addressArg >= 0 ? process.argv[addressArg + 1] : '127.0.0.1:7256', headless: true, log: (m) => console.log(`[latency] ${m}`) });
  const client = await connectClient({ address: fleet.address });
  const dtfWorker = await startHostWorker({ address: fleet.address, hostId: 'latency-host', maxTasks: 4, logger: pino({ level: 'warn' }) });
  const { connection, namespace } = await connectWorker({ address: fleet.address });
  const bare = await Worker.create({ connection, namespace, taskQueue: 'latency-bare', workflowsPath: path.join(__dirname, 'bare-workflow.js'), activities: bareActivities });
  const bareActs = await Worker.create({ connection, namespace, taskQueue: 'latency-bare-activities', activities: bareActivities });
  const runs = [bare.run(), bareActs.run()];

  const profile = async (label: string, ids: string[]) => {
    const gaps = new Map<string, number[]>();
    const totals: number[] = [];
    for (const id of ids) {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const t = events.map((e) => Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6));
      totals.push(t.at(-1)! - t[0]);
      for (let i = 1; i < events.length; i += 1) {
        const key = `${String(i).padStart(2)} ${EventType[events[i - 1].eventType!].replace('EVENT_TYPE_', '')} → ${EventType[events[i].eventType!].replace('EVENT_TYPE_', '')}`;
        gaps.set(key, [...(gaps.get(key) ?? []), t[i] - t[i - 1]]);
      }
    }
    console.log(`[latency] ${label}: median start→close ${median(totals)} ms over ${ids.length} tasks`);
    for (const [k, v] of gaps) console.log(`[latency]   ${k}: ${median(v)} ms`);
    return median(totals);
  };

  const bareIds: string[] = [];
  const dtfIds: string[] = [];
  const batch = newBatchId();
  const wallBare: number[] = [];
  const wallDtf: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const id = `latency-bare-${batch}-${i}`;
    let t0 = performance.now();
    await client.workflow.execute('bareRoutedWorkflow', { taskQueue: 'latency-bare', workflowId: id, args: [['/bin/true'], 'latency-bare-activities'] });
    wallBare.push(performance.now() - t0);
    bareIds.push(id);
    t0 = performance.now();
    const [h] = await startTasks(client, [TestTaskSpec.parse({ name: `t${i}`, command: ['/bin/true'] })], batch);
    await h.result();
    wallDtf.push(performance.now() - t0);
    dtfIds.push(h.workflowId);
  }
  // CPU per task at concurrency: this process (workers + client) and the server.
  const concurrent = arg('concurrent', 100);
  const serverPid = fleet.startedServer?.process.pid;
  const cpuOf = async (label: string, run: (i: number) => Promise<unknown>) => {
    const self0 = process.cpuUsage();
    const server0 = serverPid ? processCpuSeconds(serverPid) : 0;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < concurrent) await run(next++);
    }));
    const wall = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const perTask = { selfMs: (self.user + self.system) / 1000 / concurrent, serverMs: serverPid ? ((processCpuSeconds(serverPid) - server0) * 1000) / concurrent : NaN, tasksPerSecond: concurrent / wall };
    console.log(`[latency] ${label}, ${concurrent} tasks at concurrency 20: ${perTask.tasksPerSecond.toFixed(1)} tasks/s; CPU per task: this process ${perTask.selfMs.toFixed(1)} ms, server ${perTask.serverMs.toFixed(1)} ms`);
    return perTask;
  };
  const cpuBare = await cpuOf('bare routed', (i) => client.workflow.execute('bareRoutedWorkflow', { taskQueue: 'latency-bare', workflowId: `latency-cbare-${batch}-${i}`, args: [['/bin/true'], 'latency-bare-activities'] }));
  const cpuDtf = await cpuOf('dtf', async (i) => {
    const [h] = await startTasks(client, [TestTaskSpec.parse({ name: `c${i}`, command: ['/bin/true'] })], batch);
    await h.result();
  });
  const cpuEager = await cpuOf('bare eager', (i) => client.workflow.execute('bareWorkflow', { taskQueue: 'latency-bare', workflowId: `latency-ceager-${batch}-${i}`, args: [['/bin/true']] }));

  const bareMs = await profile('bare routed', bareIds.slice(2));
  const dtfMs = await profile('dtf', dtfIds.slice(2));
  console.log(`[latency] client wall: bare routed ${median(wallBare).toFixed(0)} ms, dtf ${median(wallDtf).toFixed(0)} ms`);
  bare.shutdown();
  bareActs.shutdown();
  await Promise.all(runs);
  await dtfWorker.shutdown();
  await fleet.stop();
  const r1 = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      tasks: n,
      bareRoutedMedianMs: bareMs,
      dtfMedianMs: dtfMs,
      bareWallMs: Math.round(median(wallBare)),
      dtfWallMs: Math.round(median(wallDtf)),
      cpuPerTaskMs: {
        dtf: { self: r1(cpuDtf.selfMs), server: r1(cpuDtf.serverMs) },
        bareRouted: { self: r1(cpuBare.selfMs), server: r1(cpuBare.serverMs) },
        bareEager: { self: r1(cpuEager.selfMs), server: r1(cpuEager.serverMs) },
      },
      tasksPerSecond: { dtf: r1(cpuDtf.tasksPerSecond), bareRouted: r1(cpuBare.tasksPerSecond), bareEager: r1(cpuEager.tasksPerSecond) },
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
