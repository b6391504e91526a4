/** A local fleet for the demo, tests and benchmarks: a dev server (started if none answers) and real worker processes. */
import { Client } from '@temporalio/client';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { connectClient } from '../config/connection';
import { hostQueue } from '../domain/hardware';
import { DevServer, isPortOpen, startDevServer } from './dev-server';
import { REPO_ROOT } from './temporal-cli';

export const DTF_BIN = path.join(REPO_ROOT, 'bin', 'dtf.js');

export interface WorkerSpec {
  hostId: string;
  /** `--simulate-gpu` values, e.g. "RTX-4090:24:8.9". */
  simulateGpus?: string[];
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface WorkerProcess {
  spec: WorkerSpec;
  process: ChildProcess;
  logFile: string;
  /** SIGTERM (graceful) unless told otherwise; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `dtf worker` as its own process (a real host stand-in) and waits until it polls its host queue. */
export async function spawnWorker(client: Client, address: string, spec: WorkerSpec, logDir: string): Promise<WorkerProcess> {
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `worker-${spec.hostId}.log`);
  const out = fs.openSync(logFile, 'a');
  const args = [DTF_BIN, '--address', address, 'worker', '--host-id', spec.hostId];
  for (const g of spec.simulateGpus ?? []) args.push('--simulate-gpu', g);
  args.push(...(spec.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, out], env: { ...process.env, ...spec.env } });
  fs.closeSync(out);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const worker: WorkerProcess = {
    spec,
    process: child,
    logFile,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
      const timer = setTimeout(() => !exited && child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
  try {
    await waitForHost(client, spec.hostId, () => exited, logFile, 60_000, child.pid);
  } catch (err) {
    if (!exited) child.kill('SIGKILL'); // a worker that never came up must not linger
    throw err;
  }
  return worker;
}

/** Waits until `hostId` polls its host queue — this very process when `pid` is given (a dead predecessor may still be listed). */
export async function waitForHost(
  client: Client,
  hostId: string,
  gone: () => boolean = () => false,
  logFile?: string,
  timeoutMs = 60_000,
  pid?: number,
): Promise<void> {
  const { listQueueHosts } = createControlActivities(client);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error(`worker ${hostId} exited during start-up${logFile ? `; see ${logFile}:\n${tailOf(logFile)}` : ''}`);
    if ((await listQueueHosts(hostQueue(hostId))).some((h) => h.hostId === hostId && (pid === undefined || h.pid === pid))) return;
    if (Date.now() > deadline) throw new Error(`worker ${hostId} did not start polling within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tailOf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

export interface LocalFleet {
  address: string;
  uiUrl?: string;
  client: Client;
  workers: WorkerProcess[];
  startedServer?: DevServer;
  addWorker(spec: WorkerSpec): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export interface LocalFleetOptions {
  address?: string;
  workers?: WorkerSpec[];
  logDir?: string;
  headless?: boolean;
  dbFilename?: string;
  log?: (msg: string) => void;
}

export async function startLocalFleet(opts: LocalFleetOptions = {}): Promise<LocalFleet> {
  const address = opts.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const [host, portText] = address.split(':');
  const port = Number(portText);
  const logDir = opts.logDir ?? path.join(REPO_ROOT, '.dtf', 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  let startedServer: DevServer | undefined;
  let uiUrl: string | undefined;
  if (!(await isPortOpen(host, port))) {
    opts.log?.(`no Temporal server on ${address}: starting a local dev server`);
    startedServer = await startDevServer({
      host,
      port,
      headless: opts.headless,
      dbFilename: opts.dbFilename,
      log: opts.log,
      logFile: path.join(logDir, 'temporal-server.log'),
    });
    uiUrl = startedServer.uiUrl;
  } else {
    opts.log?.(`using the Temporal server already on ${address}`);
    uiUrl = `http://${host}:${port + 1000}`;
  }
  const client = await connectClient({ address });
  const workers: WorkerProcess[] = [];
  const fleet: LocalFleet = {
    address,
    uiUrl,
    client,
    workers,
    startedServer,
    async addWorker(spec) {
      const w = await spawnWorker(client, address, spec, logDir);
      workers.push(w);
      return w;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await client.connection.close().catch(() => undefined);
      if (startedServer) await startedServer.stop();
    },
  };
  try {
    await Promise.all((opts.workers ?? []).map((w) => fleet.addWorker(w)));
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}
