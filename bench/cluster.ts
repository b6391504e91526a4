/**
 * `npm run cluster`: the deployment run for real, without Docker. PostgreSQL from Debian's package, a Temporal
 * server built from its Go module at a pinned version (cached under .dtf/temporal-server/), the schema, namespace
 * and search attributes set up by temporal-config/'s own scripts with its dynamic config, mTLS between every client
 * and the frontend with certificates made for the run; then the chaos batch (bench/chaos-run.ts) on real
 * `dtf worker` processes, started with `dtf submit`: injected faults, a worker SIGKILLed and the server restarted
 * mid-batch. Every task must end as designed. Prints progress, then one JSON line last, and stops all it started.
 * Usage: node dist/bench/cluster.js [--tasks 60] [--workers 4] [--seed 1] [--log-dir DIR]
 * Exits 1 when a task did not end as designed, was lost, or something was left behind.
 */
import { Client, Connection, ConnectionOptions } from '@temporalio/client';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ChaosReport, ChaosServerControl, TASK_FAULTS, formatChaosReport, runChaos } from './chaos-run';
import { clientTlsEnv, makeCertificates } from './cluster/certs';
import { isAlive, startPostgres, Postgres } from './cluster/postgres';
import { ensureTemporalServer, temporalServer, TemporalServerControl, TEMPORAL_SERVER_VERSION } from './cluster/temporal-server';
import { resolveConnection } from '../src/config/connection';
import type { TestTaskSpec } from '../src/domain/task-spec';
import { DYNAMIC_CONFIG_FILE } from '../src/server/dev-server';
import { DTF_BIN } from '../src/server/local-fleet';
import { REPO_ROOT, findOrInstallTemporalCli } from '../src/server/temporal-cli';
import type { testTaskWorkflow } from '../src/workflows';

const run = promisify(execFile);
const CONFIG_DIR = path.join(REPO_ROOT, 'temporal-config');
const NAMESPACE = 'default';

/**
 * The chaos run's per-task faults, with task-level crashes at half the rate. A crash moves the task to another host
 * and never back, so a task that crashes on every live host is dead-lettered, as designed; with one of four hosts
 * killed, 0.3 does that in roughly one run of eight, 0.15 in roughly one of fifty; this run must end as designed.
 */
const CLUSTER_TASK_FAULTS = TASK_FAULTS.map(([category, rate]): [typeof category, number] => [category, category === 'WORKER_CRASH_ERROR' ? rate / 2 : rate]);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function intArg(name: string, dflt: number, min = 1): number {
  const text = arg(name);
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer of at least ${min}, got "${text}"`);
  return n;
}

const t0 = Date.now();
const log = (m: string) => console.log(`[cluster ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one of temporal-config/'s scripts with the given environment; its output goes to the run's log. */
function runConfigScript(script: string, env: Record<string, string>, logFile: string): void {
  const r = spawnSync('sh', [path.join(CONFIG_DIR, script)], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 600_000 });
  fs.appendFileSync(logFile, `$ sh temporal-config/${script}\n${r.stdout}${r.stderr}\n`);
  if (r.status !== 0) throw new Error(`temporal-config/${script} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout).slice(-2000)}`);
  for (const line of r.stdout.trim().split('\n').slice(-3)) log(`  ${script}: ${line}`);
}

/** Until the frontend answers a health check through this process's (mTLS) connection settings; then the namespace, when asked. */
async function waitServing(server: TemporalServerControl, logFile: string, namespace?: string, timeoutMs = 120_000): Promise<void> {
  const { address } = server;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!server.running()) throw new Error(`temporal-server exited during start-up; see ${logFile}`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ ...(resolveConnection({ address }).connectionOptions as Parameters<typeof Connection.connect>[0]), connectTimeout: 5_000 });
      const health = await connection.healthService.check({});
      if (health.status !== 1) throw new Error(`health ${health.status}`);
      if (namespace) await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`the server at ${address} did not serve within ${timeoutMs / 1000} s: ${last}`);
    await sleep(500);
  }
}

/**
 * The frontend must refuse a client that presents no certificate, and one that speaks plain gRPC: what makes the
 * run's `"tls": true` mean mutual TLS, not only encryption.
 */
async function checkMtlsEnforced(address: string, caCert: string, serverName: string): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, tls: ConnectionOptions['tls']) => {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, tls, connectTimeout: 5_000 });
      await connection.workflowService.getSystemInfo({});
      problems.push(`${what} was let in`);
    } catch {
      // refused, as it must be
    } finally {
      await connection?.close().catch(() => undefined);
    }
  };
  await attempt('a TLS client without a client certificate', { serverRootCACertificate: fs.readFileSync(caCert), serverNameOverride: serverName });
  await attempt('a plaintext client', false);
  return problems;
}

/** Starts the batch through the `dtf submit` command (its own process, connecting with the same mTLS settings). */
function submitThroughCli(dir: string, address: string) {
  return async (client: Client, specs: TestTaskSpec[], batchId: string) => {
    const file = path.join(dir, `batch-${batchId}.json`);
    fs.writeFileSync(file, JSON.stringify({ tasks: specs }));
    const { stdout } = await run(process.execPath, [DTF_BIN, '--address', address, 'submit', file, '--batch-id', batchId], { env: process.env, maxBuffer: 16 * 1024 * 1024 });
    const ids = stdout.trim().split('\n').filter(Boolean);
    if (ids.length !== specs.length) throw new Error(`dtf submit started ${ids.length} workflows for ${specs.length} tasks`);
    return ids.map((id) => client.workflow.getHandle<typeof testTaskWorkflow>(id));
  };
}

/** Undo steps for what the run has started, newest last: run on the way out, and on SIGINT/SIGTERM too. */
const cleanups: (() => Promise<void>)[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything this run started`);
    // Workers and other children first (runChaos's own clean-up does not run when the process is told to stop),
    // then the chaos run's temp dir that their --work-dir names.
    for (const line of liveProcesses([])) {
      try {
        process.kill(Number(line.split(':')[0]), 'SIGKILL');
      } catch {
        // gone already
      }
      const chaosTmp = new RegExp(`--work-dir (${os.tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/dtf-chaos-[^/ ]+)/`).exec(line)?.[1];
      if (chaosTmp) fs.rmSync(chaosTmp, { recursive: true, force: true });
    }
    void (async () => {
      for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
      process.exit(130);
    })();
  });
}

/** Live processes this run started and still has: children of this process (workers, server, scripts) and the database. */
function liveProcesses(extraPids: number[]): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      if (Number(ppid) === process.pid || extraPids.includes(Number(entry))) {
        out.push(`${entry}: ${fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function main() {
  const tasks = intArg('tasks', 60, 50);
  const workers = intArg('workers', 4, 2);
  const seed = intArg('seed', 1);
  const logDir = arg('log-dir') ?? path.join(REPO_ROOT, '.dtf', 'cluster-logs', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(logDir, { recursive: true });
  const setupLog = path.join(logDir, 'setup.log');
  const serverLog = path.join(logDir, 'temporal-server.log');
  log(`logs in ${logDir}`);

  const build = ensureTemporalServer(log);
  log(`Temporal server ${TEMPORAL_SERVER_VERSION}: ${build.builtSeconds ? `built in ${build.builtSeconds} s` : `cached build`} (${build.server})`);
  const cli = findOrInstallTemporalCli(log);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-cluster-'));
  const certs = makeCertificates(path.join(runDir, 'certs'));
  log(`certificates made for this run: CA, server (${certs.serverName}, 127.0.0.1), client; in ${certs.dir}`);
  const clientTls = clientTlsEnv(certs);
  const savedEnv = Object.fromEntries(Object.keys(clientTls).map((k) => [k, process.env[k]]));

  let postgres: Postgres | undefined;
  let server: TemporalServerControl | undefined;
  let report: ChaosReport | undefined;
  const problems: string[] = [];
  try {
    cleanups.push(async () => fs.rmSync(runDir, { recursive: true, force: true }));
    postgres = await startPostgres({ log, logDir });
    cleanups.push(() => postgres!.stop());
    log(`${postgres.version} on ${postgres.host}:${postgres.port} (data ${postgres.dataDir})`);

    runConfigScript(
      'setup-postgres-schema.sh',
      {
        SQL_HOST: postgres.host,
        SQL_PORT: String(postgres.port),
        SQL_USER: postgres.user,
        SQL_PASSWORD: postgres.password,
        TEMPORAL_HOME: build.home,
        PATH: `${path.dirname(build.sqlTool)}${path.delimiter}${process.env.PATH ?? ''}`,
      },
      setupLog,
    );

    server = await temporalServer({
      build,
      postgres,
      dynamicConfigFile: DYNAMIC_CONFIG_FILE,
      tls: certs,
      logFile: serverLog,
    });
    cleanups.push(() => server!.stop());
    // Every dtf process of the run (this one, the workers, `dtf submit`, the Temporal CLI) connects with these.
    Object.assign(process.env, clientTls);
    await server.start();
    await waitServing(server, serverLog);
    log(`temporal-server ${TEMPORAL_SERVER_VERSION} serving mTLS on ${server.address}, persistence and visibility on PostgreSQL`);

    runConfigScript('bootstrap-namespace.sh', { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: NAMESPACE, TEMPORAL_CLI: cli }, setupLog);
    const refused = await checkMtlsEnforced(server.address, certs.caCert, certs.serverName);
    problems.push(...refused.map((p) => `mTLS not enforced: ${p}`));
    log(refused.length ? `mTLS NOT enforced: ${refused.join('; ')}` : 'mTLS enforced: a client without a certificate and a plaintext client are both refused');

    // runChaos starts the server first (already up) and restarts it mid-batch: stop, then start on the same ports and database.
    const s = server;
    let up = true;
    const control: ChaosServerControl = {
      async start() {
        if (!up) {
          await s.start();
          await waitServing(s, serverLog, NAMESPACE);
          up = true;
        }
        return { address: s.address };
      },
      async stop() {
        up = false;
        await s.stop();
      },
    };
    report = await runChaos({ tasks, workers, seed, taskFaults: CLUSTER_TASK_FAULTS, logDir, server: control, submit: submitThroughCli(runDir, server.address), log });
    console.log(formatChaosReport(report));
  } finally {
    cleanups.length = 0;
    await server?.stop().catch((err: Error) => log(`stopping the server: ${err.message}`));
    await postgres?.stop().catch((err: Error) => log(`stopping PostgreSQL: ${err.message}`));
    fs.rmSync(runDir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }

  // What the run left: workspaces and leases on the hosts (the chaos report), processes, and its own temp dirs.
  // A process still exiting gets 10 s to be gone.
  const ours = [...(server?.pids ?? []), ...(postgres ? [postgres.pid] : [])];
  let processes = liveProcesses(ours.filter(isAlive));
  for (let i = 0; i < 20 && processes.length; i++) {
    await sleep(500);
    processes = liveProcesses(ours.filter(isAlive));
  }
  const dirs = [runDir, postgres?.dataDir].filter((d): d is string => !!d && fs.existsSync(d));
  if (processes.length) log(`processes left behind: ${processes.map((p) => p.slice(0, 160)).join('; ')}`);
  if (dirs.length) log(`directories left behind: ${dirs.join(', ')}`);
  const ended = report.rows.filter((r) => r.status !== undefined);
  // A crash moves a task to another host and never back, so a task that crashed on every host of the run is
  // dead-lettered as designed (the injected crashes and the kill can line up so). Only that is excused: any other
  // outcome that is not the task kind's is a problem.
  const crashedOnEveryHost = (u: (typeof report.unexpected)[number]) =>
    u.status === 'dead_lettered' && u.category === 'WORKER_CRASH_ERROR' && new Set(u.recovery.filter((e) => e.includes('WORKER_CRASH_ERROR')).map((e) => e.split('@')[1])).size >= workers;
  const explained = report.unexpected.filter(crashedOnEveryHost);
  const asDesigned = report.rows.filter((r) => r.status === r.expect).length + explained.length;
  for (const u of explained) log(`crashed on every host, dead-lettered as designed: ${u.name} (${u.kind}) expected ${u.expect}, got ${u.status ?? 'nothing'}`);
  for (const u of report.unexpected.filter((x) => !explained.includes(x))) problems.push(`${u.name} (${u.kind}) expected ${u.expect}, got ${u.status ?? 'nothing'}`);
  if (!report.kill?.runningTasks.length) problems.push('no worker was killed with tasks running');
  if (!report.serverRestart || report.serverRestart.workersNotReconnected.length) problems.push('the server restart did not happen, or workers did not poll again after it');
  const leftovers = report.leftovers + processes.length + dirs.length;
  for (const p of problems) log(`PROBLEM: ${p}`);
  const summary = {
    server: `temporal ${TEMPORAL_SERVER_VERSION}`,
    persistence: 'postgres',
    tls: problems.every((p) => !p.startsWith('mTLS')),
    tasks: report.tasks,
    passed: asDesigned,
    crashedOnEveryHost: explained.length,
    lost: report.tasks - ended.length,
    leftovers,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    built: build.builtSeconds > 0,
    workers,
    faultsInjected: report.faultsInjected,
    killed: report.kill ? { host: report.kill.hostId, running: report.kill.runningTasks.length, atSeconds: report.kill.atSeconds } : null,
    serverRestart: report.serverRestart ? { atSeconds: report.serverRestart.atSeconds, downSeconds: report.serverRestart.downSeconds, inFlight: report.serverRestart.inFlight } : null,
    outcomes: { passed: report.passed, testFailed: report.testFailed, deadLettered: report.deadLettered, other: report.other },
    batchSeconds: report.batchSeconds,
  };
  if (problems.length || summary.lost || leftovers || asDesigned !== report.tasks) process.exitCode = 1;
  console.log(JSON.stringify(summary));
}

main().catch((err: Error) => {
  console.error(err);
  // The last line stays one JSON object, saying what stopped the run.
  console.log(JSON.stringify({ server: `temporal ${TEMPORAL_SERVER_VERSION}`, persistence: 'postgres', error: err.message.split('\n')[0], seconds: Math.round((Date.now() - t0) / 100) / 10 }));
  process.exit(1);
});
