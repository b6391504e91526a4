/**
 * The chaos run: a batch of tasks with mixed injected faults on several real `dtf worker` processes, one worker
 * SIGKILLed and the Temporal server restarted (same port, same `--db-filename`) mid-run. At the end every task is
 * accounted for (passed, test-failed, dead-lettered with a reason; anything else or anything unsettled is named),
 * every host is checked for leftovers (workspaces, GPU leases, manifests), and the recovery rate of recoverable
 * faults is reported. The test suite runs a small one; `npm run chaos` (bench/chaos.ts) a larger one.
 */
import { Client, Connection, ConnectionOptions, WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { leftoversOn } from '../src/activities/saga';
import { newBatchId, settledResult, startTasks } from '../src/cli/submit';
import { connectClient, resolveConnection } from '../src/config/connection';
import { DeploymentConfig } from '../src/config/deployment';
import type { z } from 'zod';
import { INJECTABLE_CATEGORIES } from '../src/domain/categories';
import { DtfStatus } from '../src/domain/search-attributes';
import type { TestTaskResult } from '../src/domain/task-result';
import { TestTaskSpec, TestTaskSpecInput } from '../src/domain/task-spec';
import { DevServer, freePort, startDevServer } from '../src/server/dev-server';
import { WorkerProcess, WorkerSpec, spawnWorker, waitForHost } from '../src/server/local-fleet';
import { REPO_ROOT } from '../src/server/temporal-cli';
import { seededRandom } from '../src/domain/seeded-random';
import type { testTaskWorkflow } from '../src/workflows';
import { discardUpdate } from '../src/workflows/messages';

type Injectable = (typeof INJECTABLE_CATEGORIES)[number];
type TaskHandle = WorkflowHandle<typeof testTaskWorkflow>;
type DeploymentConfigInput = z.input<typeof DeploymentConfig>;

export interface ChaosOptions {
  tasks: number;
  /** Worker processes (hosts), at least 2: the first one simulates a GPU host, one of the others is killed. */
  workers: number;
  /** Share of the batch settled when a worker running tasks is SIGKILLed (default 1/3). */
  killAfterFraction?: number;
  /** Share of the batch settled when the server is stopped and started again (default 1/2). */
  restartServerAfterFraction?: number;
  /**
   * How long the server stays down (default 5 s): longer than the 3 s heartbeat timeout, so attempts in flight
   * lose their heartbeats as they would in a real outage, not only their connections.
   */
  serverDownMs?: number;
  /** Seeds the task mix (which task gets which fault); the draws on the workers stay random. */
  seed?: number;
  /** Per-task rates of the recoverable faults (default TASK_FAULTS). */
  taskFaults?: [Injectable, number][];
  /** Worker and server logs go here (kept after the run, for inspection). */
  logDir: string;
  /** `--max-tasks` of each worker (default 2, the product's default). */
  maxTasksPerWorker?: number;
  /**
   * Hard limit for the whole batch to settle once submitted (default 120 s, plus 3 s per task and worker); what has
   * not settled by then counts as lost.
   */
  settleTimeoutMs?: number;
  /**
   * The batch counts as stuck when no task has settled for this long (default 90 s: longer than any one recovery
   * path of the default policies, pickups and queue watch included); what has not settled by then counts as lost.
   * A slow but moving batch (a loaded machine) is given until `settleTimeoutMs`.
   */
  stallTimeoutMs?: number;
  log?(msg: string): void;
  /**
   * The Temporal server the run uses and restarts (default: a dev server of its own on a free port with a
   * --db-filename). `start` is called once at the beginning and again after `stop` for the restart; it must come
   * back on the same address with the same state.
   */
  server?: ChaosServerControl;
  /** How the batch is started (default: startTasks in this process); e.g. through the `dtf submit` command. */
  submit?(client: Client, specs: TestTaskSpec[], batchId: string): Promise<TaskHandle[]>;
}

export interface ChaosServerControl {
  start(): Promise<{ address: string }>;
  stop(): Promise<void>;
}

/** What kind of task it is, i.e. how it is meant to end. */
export type ChaosTaskKind = 'pass' | 'recoverable' | 'cuda-fallback' | 'test-failure' | 'dead-letter';

export interface ChaosTaskRow {
  name: string;
  workflowId: string;
  kind: ChaosTaskKind;
  expect: TestTaskSpec['expect'];
  /** Undefined when the task never settled (lost). */
  status?: string;
  category?: string;
  reason?: string;
  /** Injected faults its attempts ran, from the worker logs, in order. */
  faults: Injectable[];
  /** An attempt of it was running on the worker that was killed. */
  hitByKill: boolean;
  /** It had an attempt running when the server went down. */
  inFlightAtRestart: boolean;
  attempts: number;
  hostId?: string;
  /** Its recovery log in short, `<s since the run started> action:CATEGORY/rule@host` (attempt starts left out): to set beside the kill and restart times. */
  recovery: string[];
}

export interface ChaosReport {
  tasks: number;
  workers: number;
  seed: number;
  /** Attempts broken on purpose: those that ran an injected fault (worker logs) plus those killed with their worker. */
  faultsInjected: number;
  faultsByCategory: Record<string, number>;
  /** Tasks meant to pass that saw at least one recoverable fault (injected network/resource/crash, or the kill). */
  recoverableHit: number;
  /** …and passed all the same. */
  recovered: number;
  /** recovered / recoverableHit; null when no task was hit. */
  recoveryRate: number | null;
  passed: number;
  testFailed: number;
  deadLettered: number;
  /** Settled with any other status (error, cancelled, expired…): not accounted for. */
  other: number;
  /** Not settled when the batch stalled or hit its limit: lost or stuck. */
  lost: number;
  lostTasks: { name: string; lastStatus?: string }[];
  /** Why the run stopped waiting for the batch, when some task had not settled. */
  gaveUp?: 'stalled' | 'time-limit';
  /** Tasks that did not end as their kind says (incl. recoverable ones that ended dead-lettered). */
  unexpected: { name: string; kind: ChaosTaskKind; expect: string; status?: string; category?: string; reason?: string; recovery: string[] }[];
  /**
   * Of those, the ones no fault of the run explains: dealt no recoverable fault and not on the killed worker, yet not
   * ended as designed (a lost task, or e.g. a healthy task dead-lettered around the server restart). A product bug each.
   */
  unexplained: string[];
  deadLetteredWithoutReason: string[];
  /** Dead-lettered tasks discarded through the DLQ after the run (proves the DLQ works after the restart). */
  discarded: number;
  /** Items left on the hosts after the killed host was restarted (its sweep) and every worker stopped. */
  leftovers: number;
  leftoverItems: Record<string, string[]>;
  kill?: { hostId: string; atSeconds: number; runningTasks: string[]; leftBehind: string[] };
  serverRestart?: {
    atSeconds: number;
    downSeconds: number;
    /** Tasks with an attempt running when the server went down, and how they ended (not counted as faults above). */
    inFlight: number;
    inFlightOutcomes: Record<string, number>;
    workersReconnectedSeconds: number | null;
    workersNotReconnected: string[];
  };
  /** Submit to the last task settled. */
  batchSeconds: number;
  /** The whole run: server and workers started, batch, sweep and checks. */
  seconds: number;
  logDir: string;
  rows: ChaosTaskRow[];
}

const SCRIPTS = path.join(REPO_ROOT, 'examples', 'scripts');
const node = (script: string, ...args: string[]) => [process.execPath, path.join(SCRIPTS, script), ...args];

/** Faults recovery can get past (another attempt, another host); test and dependency faults it must not hide. */
const RECOVERABLE: ReadonlySet<string> = new Set<Injectable>(['NETWORK_CONNECTION_ERROR', 'NETWORK_TIMEOUT_ERROR', 'RESOURCE_ALLOCATION_ERROR', 'WORKER_CRASH_ERROR']);
const WORKER_KILLED = 'WORKER_KILLED';

/** Shares of the batch by kind; the rest are plain passing tasks. */
const MIX: [ChaosTaskKind, number][] = [
  ['recoverable', 0.35],
  ['cuda-fallback', 0.1],
  ['test-failure', 0.1],
  ['dead-letter', 0.1],
];

/**
 * Per-task rates of the recoverable faults: high enough that most such tasks are hit, low enough that the
 * category's in-place retries and relocations (default policies) nearly always get the task through.
 */
export const TASK_FAULTS: [Injectable, number][] = [
  ['NETWORK_CONNECTION_ERROR', 0.5],
  ['NETWORK_TIMEOUT_ERROR', 0.5],
  ['RESOURCE_ALLOCATION_ERROR', 0.5],
  ['WORKER_CRASH_ERROR', 0.3],
];

/** Background noise on every attempt of each worker, in turn: every task may be hit, whatever its kind. */
const WORKER_FAULTS = ['NETWORK_CONNECTION_ERROR:0.05', 'NETWORK_TIMEOUT_ERROR:0.05', 'RESOURCE_ALLOCATION_ERROR:0.03,WORKER_CRASH_ERROR:0.03'];

/** Parked tasks wait (not end as `error`) so they are counted as dead-lettered, then discarded at the end. */
const DEAD_LETTER_RETENTION_S = 3600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


export interface ChaosTask {
  kind: ChaosTaskKind;
  spec: TestTaskSpec;
}

/** The batch: exact shares of each kind in a seeded order, each task's parameters drawn from the same PRNG. */
export function chaosBatch(tasks: number, seed: number, taskFaults: [Injectable, number][] = TASK_FAULTS): ChaosTask[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const kinds: ChaosTaskKind[] = [];
  for (const [kind, share] of MIX) kinds.push(...Array<ChaosTaskKind>(Math.round(tasks * share)).fill(kind));
  while (kinds.length < tasks) kinds.push('pass');
  kinds.length = tasks;
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  // 1-3 s commands: long enough that the kill and the restart catch tasks mid-run.
  const seconds = () => pick(['1', '1.5', '2', '2.5', '3']);
  return kinds.map((kind, i) => {
    const name = `chaos-${String(i).padStart(4, '0')}-${kind}`;
    const base = { name, labels: { chaos: kind }, deadLetterRetentionSeconds: DEAD_LETTER_RETENTION_S };
    let input: TestTaskSpecInput;
    switch (kind) {
      case 'pass':
        input = { ...base, command: node('sleep.js', seconds()) };
        break;
      case 'recoverable': {
        const [category, rate] = pick(taskFaults);
        input = { ...base, command: node('sleep.js', seconds()), inject: { [category]: rate }, labels: { chaos: kind, fault: category } };
        break;
      }
      case 'cuda-fallback':
        // The one simulated GPU host has one GPU: some of these find it leased and fall back to CPU.
        input = {
          ...base,
          command: node('sleep.js', seconds()),
          // The default placement timeout (300 s): a busy queue is no reason to give up, the batch keeps queues full.
          hardware: { class: 'cuda', minGpuMemoryGb: 16, fallback: ['cpu'] },
        };
        break;
      case 'test-failure':
        input = { ...base, command: node('sleep.js', '1'), inject: { TEST_EXECUTION_ERROR: 1 }, expect: 'failed' };
        break;
      case 'dead-letter':
        // Half fail on their configuration, half on a missing module: neither can pass anywhere.
        input =
          random() < 0.5
            ? { ...base, command: node('bad-config.js'), expect: 'dead_lettered' }
            : { ...base, command: node('sleep.js', '1'), inject: { TEST_DEPENDENCY_ERROR: 1 }, expect: 'dead_lettered' };
        break;
    }
    return { kind, spec: TestTaskSpec.parse(input) };
  });
}

/** `workspace:<workflowId>-p<N>-a<N>` (see workspaceName in activities/task.ts) → the workflow id. */
function workflowIdOfWorkspace(item: string): string | undefined {
  return /^workspace:(.+)-p\d+-a\d+$/.exec(item)?.[1];
}

async function runningOn(workDir: string): Promise<string[]> {
  return (await leftoversOn(workDir)).map(workflowIdOfWorkspace).filter((id): id is string => id !== undefined);
}

/** Injected faults per workflow id, from the workers' "FAULT INJECTION: this attempt runs a real …" lines (pino JSON). */
export function injectedFaultsFromLogs(logFiles: string[]): Map<string, Injectable[]> {
  const byTask = new Map<string, Injectable[]>();
  for (const file of logFiles) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{') || !line.includes('FAULT INJECTION: this attempt runs a real')) continue;
      try {
        const entry = JSON.parse(line) as { fault?: Injectable; workflowId?: string };
        if (entry.fault && entry.workflowId) byTask.set(entry.workflowId, [...(byTask.get(entry.workflowId) ?? []), entry.fault]);
      } catch {
        // a line cut short by the SIGKILL
      }
    }
  }
  return byTask;
}

/**
 * The task's settled result, asking again across the server restart; undefined once `stopped()` (stalled or out of time).
 * A workflow that itself failed is an `error` row, never a lost one.
 */
async function settle(handle: TaskHandle, name: string, pollMs: number, stopped: () => boolean): Promise<TestTaskResult | undefined> {
  while (!stopped()) {
    try {
      return await settledResult(handle, pollMs);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        return { name, workflowId: handle.workflowId, status: 'error', exitCode: null, durationMs: 0, hwClass: '', queue: '', outputTail: '', attempts: 0, placements: [], recoveryLog: [], reason: `workflow failed: ${err.message}` };
      }
      await sleep(500); // the server is down or restarting: ask again
    }
  }
  return undefined;
}

/**
 * A client without the SDK's gRPC retries (settle() asks again by itself): closing it mid-call then fails the call,
 * where a pending SDK retry timer would meet the closed channel and throw out of the timer (an uncaught exception).
 */
async function connectWatcher(address: string): Promise<Client> {
  const { connectionOptions, namespace } = resolveConnection({ address });
  const connection = await Connection.connect({ ...(connectionOptions as ConnectionOptions), interceptors: [] });
  return new Client({ connection, namespace });
}

const isAlive = (w: WorkerProcess) => w.process.exitCode === null && w.process.signalCode === null;

/**
 * The chaos workers' deployment config. The crash faults injected here are the run's, not the hosts': a quarantined
 * host would sit out its cool-down (minutes) and stall the batch. Quarantine has its own tests.
 */
function writeDeploymentConfig(dir: string, tasks: number): string {
  const config: DeploymentConfigInput = { quarantine: { threshold: Math.min(1000, Math.max(50, tasks)) } };
  const file = path.join(dir, 'chaos-deployment.yaml');
  DeploymentConfig.parse(config); // fails here, plainly, rather than in three worker start-ups
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  if (opts.workers < 2) throw new Error('runChaos: at least 2 workers (one is killed mid-run)');
  if (opts.tasks < 1) throw new Error('runChaos: at least 1 task');
  const t0 = Date.now();
  const at = () => (Date.now() - t0) / 1000;
  const log = (msg: string) => opts.log?.(`[chaos ${at().toFixed(1).padStart(5)} s] ${msg}`);
  const seed = opts.seed ?? 1;
  const maxTasks = opts.maxTasksPerWorker ?? 2;
  const settleTimeoutMs = opts.settleTimeoutMs ?? 120_000 + Math.ceil((3000 * opts.tasks) / opts.workers);
  const stallTimeoutMs = opts.stallTimeoutMs ?? 90_000;
  fs.mkdirSync(opts.logDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-chaos-'));
  const dbFilename = path.join(tmp, 'temporal.db');
  const serverLog = path.join(opts.logDir, 'temporal-server.log');
  const control = opts.server ?? (await devServerControl(dbFilename, serverLog));

  let server: { address: string } | undefined;
  let client: Client | undefined;
  let watcher: Client | undefined;
  let progress: NodeJS.Timeout | undefined;
  const workers: WorkerProcess[] = [];
  try {
    server = await control.start();
    const address = server.address;
    log(`server on ${address}${opts.server ? '' : `, db ${dbFilename}`}`);
    client = await connectClient({ address });
    // Its own connection for the polling of results, closed when the batch is given up to end polls that would never settle.
    watcher = await connectWatcher(address);

    const config = writeDeploymentConfig(tmp, opts.tasks);
    const specs: WorkerSpec[] = Array.from({ length: opts.workers }, (_, i) => {
      const workDir = path.join(tmp, 'work', `chaos-h${i}`);
      return {
        hostId: `chaos-h${i}`,
        // One GPU behind two slots: a second cuda task at once finds it leased (RESOURCE_ALLOCATION_ERROR/gpu-lease-busy),
        // a natural fault on top of the injected ones, and falls back to CPU when the lease stays busy.
        simulateGpus: i === 0 ? ['CHAOS-SIM:24:8.9'] : undefined,
        extraArgs: ['--work-dir', workDir, '--max-tasks', String(maxTasks), '--inject', WORKER_FAULTS[i % WORKER_FAULTS.length], '--config', config],
      };
    });
    const workDirOf = (hostId: string) => path.join(tmp, 'work', hostId);
    // Each one kept as soon as it runs, so that a failed start of another still stops it (finally below).
    await Promise.all(specs.map(async (s, i) => (workers[i] = await spawnWorker(client!, address, s, opts.logDir))));
    log(`${workers.length} workers polling (${specs.map((s) => `${s.hostId}${s.simulateGpus ? ' gpu' : ''}`).join(', ')})`);

    const batch = chaosBatch(opts.tasks, seed, opts.taskFaults);
    const batchId = newBatchId();
    const tBatch = Date.now();
    const handles = await (opts.submit ?? startTasks)(client, batch.map((t) => t.spec), batchId);
    log(`submitted ${handles.length} tasks, batch ${batchId}: ${Object.entries(countBy(batch.map((t) => t.kind))).map(([k, n]) => `${n} ${k}`).join(', ')}`);

    const results: (TestTaskResult | undefined)[] = new Array(handles.length);
    let settled = 0;
    let stopped = false;
    const pollMs = Math.min(2_000, Math.max(500, handles.length * 10));
    let lastProgress = Date.now();
    const all = Promise.all(
      handles.map(async (h, i) => {
        const watched = watcher!.workflow.getHandle<typeof testTaskWorkflow>(h.workflowId);
        results[i] = await settle(watched, batch[i].spec.name, pollMs, () => stopped);
        if (!results[i]) return;
        settled += 1;
        lastProgress = Date.now();
      }),
    );
    const deadline = tBatch + settleTimeoutMs;
    const givenUp = () => Date.now() > deadline || Date.now() - lastProgress > stallTimeoutMs;
    progress = setInterval(() => {
      const s = countBy(results.filter((r): r is TestTaskResult => !!r).map((r) => r.status));
      log(`${settled}/${handles.length} settled ${JSON.stringify(s)}`);
    }, 5_000);
    const waitSettled = async (n: number) => {
      while (settled < n && !givenUp()) await sleep(100);
      return settled >= n;
    };

    // The kill: a CPU host (the GPU host stays, so cuda tasks keep their class) running the most tasks right now.
    let kill: ChaosReport['kill'];
    let victim: WorkerProcess | undefined;
    const hitByKill = new Set<string>();
    if (await waitSettled(Math.ceil(handles.length * (opts.killAfterFraction ?? 1 / 3)))) {
      let best = { w: workers[1], running: [] as string[] };
      const until = Date.now() + 10_000;
      while (!best.running.length && Date.now() < until) {
        for (const w of workers.slice(1)) {
          const running = await runningOn(workDirOf(w.spec.hostId));
          if (running.length > best.running.length) best = { w, running };
        }
        if (!best.running.length) await sleep(100);
      }
      victim = best.w;
      await victim.stop('SIGKILL');
      for (const id of best.running) hitByKill.add(id);
      kill = { hostId: victim.spec.hostId, atSeconds: round1(at()), runningTasks: best.running, leftBehind: [] };
      log(`SIGKILLed worker ${victim.spec.hostId} with ${best.running.length} task(s) running (${settled} settled)`);
    }

    // The restart: stop the server (SIGTERM) and start it again on the same port and database file.
    let serverRestart: ChaosReport['serverRestart'];
    const inFlightAtRestart = new Set<string>();
    if (await waitSettled(Math.ceil(handles.length * (opts.restartServerAfterFraction ?? 1 / 2)))) {
      const live = workers.filter(isAlive);
      for (const w of live) for (const id of await runningOn(workDirOf(w.spec.hostId))) inFlightAtRestart.add(id);
      const atSeconds = round1(at());
      const down = Date.now();
      await control.stop();
      server = undefined;
      log(`server stopped (${settled} settled, ${inFlightAtRestart.size} task(s) running)`);
      await sleep(Math.max(0, (opts.serverDownMs ?? 5_000) - (Date.now() - down)));
      server = await control.start();
      const downSeconds = round1((Date.now() - down) / 1000);
      log(`server started again on ${address} after ${downSeconds.toFixed(1)} s`);
      // Every worker still alive must poll again by itself (new pollers: the server's poller lists start empty).
      const notReconnected: string[] = [];
      const up = Date.now();
      await Promise.all(
        live.map((w) =>
          waitForHost(client!, w.spec.hostId, () => !isAlive(w), w.logFile, 60_000, w.process.pid).catch((err: Error) => {
            notReconnected.push(`${w.spec.hostId}: ${err.message.split('\n')[0]}`);
          }),
        ),
      );
      const reconnected = notReconnected.length ? null : round1((Date.now() - up) / 1000);
      serverRestart = { atSeconds, downSeconds, inFlight: inFlightAtRestart.size, inFlightOutcomes: {}, workersReconnectedSeconds: reconnected, workersNotReconnected: notReconnected };
      log(notReconnected.length ? `workers NOT polling again after the restart: ${notReconnected.join('; ')}` : `all ${live.length} live workers polling again after ${reconnected!.toFixed(1)} s`);
    }

    // Everything settles, or the batch stalls or runs out of time and the report names what did not settle.
    while (settled < handles.length && !givenUp()) await sleep(200);
    const gaveUp: ChaosReport['gaveUp'] = settled === handles.length ? undefined : Date.now() > deadline ? 'time-limit' : 'stalled';
    if (gaveUp) log(`gave up on the batch (${gaveUp === 'stalled' ? `no task settled for ${stallTimeoutMs / 1000} s` : `limit of ${settleTimeoutMs / 1000} s`}): what has not settled counts as lost`);
    const batchSeconds = (Date.now() - tBatch) / 1000;
    stopped = true;
    await watcher.connection.close().catch(() => undefined);
    await all;
    clearInterval(progress);
    watcher = undefined;
    log(`${settled}/${handles.length} settled after ${batchSeconds.toFixed(1)} s`);

    const lostTasks: ChaosReport['lostTasks'] = [];
    for (const [i, h] of handles.entries()) {
      if (results[i]) continue;
      const lastStatus = await h.describe().then((d) => d.typedSearchAttributes.get(DtfStatus) as string | undefined, () => undefined);
      lostTasks.push({ name: batch[i].spec.name, lastStatus });
    }

    // Dead-lettered tasks: discard them through the DLQ, as an operator would; they stay counted as dead-lettered.
    let discarded = 0;
    for (const [i, h] of handles.entries()) {
      if (results[i]?.status !== 'dead_lettered') continue;
      await h
        .executeUpdate(discardUpdate, { args: [{ reason: 'chaos run over' }] })
        .then(() => (discarded += 1))
        .catch((err: Error) => log(`could not discard ${h.workflowId}: ${err.message}`));
    }

    // The killed host comes back (same id and work dir): its start-up sweep undoes what the kill left.
    if (victim && kill) {
      kill.leftBehind = await leftoversOn(workDirOf(victim.spec.hostId));
      workers[workers.indexOf(victim)] = await spawnWorker(client, address, victim.spec, opts.logDir);
      log(`restarted ${victim.spec.hostId}; the kill had left ${kill.leftBehind.length} item(s) behind`);
    }
    await Promise.all(workers.map((w) => w.stop()));
    const leftoverItems: Record<string, string[]> = {};
    for (const s of specs) {
      const items = await leftoversOn(workDirOf(s.hostId));
      if (items.length) leftoverItems[s.hostId] = items;
    }
    const leftovers = Object.values(leftoverItems).reduce((n, items) => n + items.length, 0);

    const faultsByTask = injectedFaultsFromLogs(workers.map((w) => w.logFile));
    const rows: ChaosTaskRow[] = batch.map((t, i) => {
      const r = results[i];
      const workflowId = handles[i].workflowId;
      return {
        name: t.spec.name,
        workflowId,
        kind: t.kind,
        expect: t.spec.expect,
        status: r?.status,
        category: r?.category,
        reason: r?.reason,
        faults: faultsByTask.get(workflowId) ?? [],
        hitByKill: hitByKill.has(workflowId),
        inFlightAtRestart: inFlightAtRestart.has(workflowId),
        attempts: r?.attempts ?? 0,
        hostId: r?.hostId,
        recovery: (r?.recoveryLog ?? [])
          .filter((e) => e.action !== 'attempt-started')
          .map((e) => `${((Date.parse(e.at) - t0) / 1000).toFixed(1)}s ${e.action}${e.category ? `:${e.category}` : ''}${e.rule ? `/${e.rule}` : ''}${e.hostId ? `@${e.hostId}` : ''}`),
      };
    });
    const faultsByCategory = countBy(rows.flatMap((r) => r.faults));
    if (hitByKill.size) faultsByCategory[WORKER_KILLED] = hitByKill.size;
    const hit = rows.filter((r) => r.expect === 'passed' && (r.hitByKill || r.faults.some((f) => RECOVERABLE.has(f))));
    const recovered = hit.filter((r) => r.status === 'passed').length;
    const statuses = countBy(rows.map((r) => r.status ?? 'lost'));
    if (serverRestart) serverRestart.inFlightOutcomes = countBy(rows.filter((r) => r.inFlightAtRestart).map((r) => r.status ?? 'lost'));
    const report: ChaosReport = {
      tasks: handles.length,
      workers: opts.workers,
      seed,
      faultsInjected: Object.values(faultsByCategory).reduce((a, b) => a + b, 0),
      faultsByCategory,
      recoverableHit: hit.length,
      recovered,
      recoveryRate: hit.length ? Number((recovered / hit.length).toFixed(3)) : null,
      passed: statuses.passed ?? 0,
      testFailed: statuses.failed ?? 0,
      deadLettered: statuses.dead_lettered ?? 0,
      other: rows.filter((r) => r.status && !['passed', 'failed', 'dead_lettered'].includes(r.status)).length,
      lost: lostTasks.length,
      lostTasks,
      gaveUp,
      unexpected: rows
        .filter((r) => r.status !== r.expect)
        .map(({ name, kind, expect, status, category, reason, recovery }) => ({ name, kind, expect, status, category, reason, recovery })),
      unexplained: rows.filter((r) => r.status !== r.expect && !r.hitByKill && !r.faults.some((f) => RECOVERABLE.has(f))).map((r) => r.name),
      deadLetteredWithoutReason: rows.filter((r) => r.status === 'dead_lettered' && !(r.reason && r.category)).map((r) => r.name),
      discarded,
      leftovers,
      leftoverItems,
      kill,
      serverRestart,
      batchSeconds: round1(batchSeconds),
      seconds: 0,
      logDir: opts.logDir,
      rows,
    };
    await client.connection.close().catch(() => undefined);
    client = undefined;
    await control.stop();
    server = undefined;
    report.seconds = round1(at());
    return report;
  } finally {
    // On the way out after an error: nothing this run started may outlive it.
    clearInterval(progress);
    await Promise.all(workers.filter(Boolean).map((w) => w.stop('SIGKILL').catch(() => undefined)));
    await watcher?.connection.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await control.stop(); // idempotent: also ends a server whose (re)start failed half-way
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The default server: a dev server on a free port and a database file, started again on the same port after a stop. */
async function devServerControl(dbFilename: string, logFile: string): Promise<ChaosServerControl> {
  const port = await freePort();
  let server: DevServer | undefined;
  return {
    async start() {
      // A port still held for a moment after the exit is retried briefly.
      for (let tries = 1; ; tries++) {
        try {
          return (server = await startDevServer({ port, headless: true, dbFilename, logFile }));
        } catch (err) {
          if (tries >= 5) throw err;
          await sleep(1_000);
        }
      }
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

/** One line per figure, for logs and CI output. */
export function formatChaosReport(r: ChaosReport): string {
  const lines = [
    `tasks ${r.tasks} on ${r.workers} workers (seed ${r.seed}): ${r.passed} passed, ${r.testFailed} test-failed, ${r.deadLettered} dead-lettered, ${r.other} other, ${r.lost} lost${r.gaveUp ? ` (gave up: ${r.gaveUp})` : ''}`,
    `faults injected ${r.faultsInjected}: ${Object.entries(r.faultsByCategory).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`,
    `recoverable faults: ${r.recovered}/${r.recoverableHit} tasks meant to pass recovered (rate ${r.recoveryRate ?? '-'})`,
    r.kill ? `kill: ${r.kill.hostId} at ${r.kill.atSeconds.toFixed(1)} s with ${r.kill.runningTasks.length} task(s) running; it left ${r.kill.leftBehind.length} item(s), swept at its restart` : 'kill: none (the batch settled or was given up first)',
    r.serverRestart
      ? `server restart at ${r.serverRestart.atSeconds.toFixed(1)} s: down ${r.serverRestart.downSeconds.toFixed(1)} s, ${r.serverRestart.inFlight} task(s) in flight (ended ${JSON.stringify(r.serverRestart.inFlightOutcomes)}), workers polling again ${r.serverRestart.workersReconnectedSeconds === null ? `NOT ALL: ${r.serverRestart.workersNotReconnected.join('; ')}` : `after ${r.serverRestart.workersReconnectedSeconds.toFixed(1)} s`}`
      : 'server restart: none (the batch settled or was given up first)',
    `not as designed: ${r.unexpected.length}, of which no injected fault or the kill explains ${r.unexplained.length}${r.unexplained.length ? ` (${r.unexplained.join(', ')})` : ''}`,
    `leftovers ${r.leftovers}${r.leftovers ? `: ${JSON.stringify(r.leftoverItems)}` : ''}; dead-lettered discarded ${r.discarded}`,
    `batch ${r.batchSeconds} s, run ${r.seconds} s; logs in ${r.logDir}`,
  ];
  for (const u of r.unexpected) lines.push(`  not as its kind says: ${u.name} (${u.kind}) expected ${u.expect}, got ${u.status ?? 'nothing'}${u.category ? ` ${u.category}` : ''}${u.reason ? `: ${u.reason.slice(0, 160)}` : ''} [${u.recovery.join(', ')}]`);
  for (const l of r.lostTasks) lines.push(`  LOST: ${l.name} (last status ${l.lastStatus ?? '?'})`);
  return lines.join('\n');
}
