/** `dtf`: the command line for servers, workers, submitting and inspecting test tasks. */
import { Client } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import { z } from 'zod';
import { CONTROL_ACTIVITY_NAMES, ControlActivityName } from '../activities/control';
import { InjectRates, parseInjectOption } from '../activities/fault-injection';
import { ConnectOptions, connectClient } from '../config/connection';
import { loadDeploymentConfig } from '../config/deployment';
import { CategoryName } from '../domain/categories';
import { classifyJsonl, compileRules } from '../domain/classification';
import { GpuInfo, HostId, parseSimulatedGpu } from '../domain/hardware';
import { TASK_STATUSES } from '../domain/search-attributes';
import { SpecError } from '../domain/task-spec';
import { startDevServer } from '../server/dev-server';
import { TemporalCliNotFoundError } from '../server/temporal-cli';
import { reassignUpdate, reportFailureSignal } from '../workflows/messages';
import { startHostWorker } from '../workers/host-worker';
import { parseMetricsBind } from '../metrics/worker-telemetry';
import { runDemo } from './demo';
import { addDlqCommands, rootMessage } from './dlq';
import { asExpected, formatTable, newBatchId, readTaskFile, secretLookingEnv, secretLookingEnvMessage, startTasks, waitForTasks } from './submit';
import { registerReportCommand } from './report';
import { registerCodecCommands } from './codec';
import { explainCodecError } from '../codec/data-converter';
import { registerStatusCommand } from './status';
import { registerLogsCommand } from './logs';
import { registerCancelCommand } from './cancel';
import { registerWorkersCommand } from './workers';

/** An error whose exit code the CLI passes on: 2 for bad input (nothing started), 1 for tasks that did not pass. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
  return n;
};

const collectGpu = (value: string, previous: GpuInfo[] = []) => {
  try {
    return [...previous, parseSimulatedGpu(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const hostIdArg = (value: string) => {
  const parsed = HostId.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`--host-id "${value}": ${parsed.error.issues[0].message}`);
  return parsed.data;
};

function connectOpts(cmd: Command): ConnectOptions {
  const o = cmd.optsWithGlobals() as { address?: string; namespace?: string; profile?: string };
  return { address: o.address, namespace: o.namespace, profile: o.profile };
}

async function withClient<T>(cmd: Command, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(connectOpts(cmd));
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('dtf')
    .description('dtf, the durable test fleet: run test tasks across GPU and CPU hosts on Temporal')
    .option('--address <host:port>', 'Temporal frontend address (default: $TEMPORAL_ADDRESS, temporal.toml profile, or localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")')
    .option('--profile <name>', 'temporal.toml profile (default: $TEMPORAL_PROFILE or "default")')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('server')
    .description('start a local Temporal dev server (and Web UI) with dtf\'s search attributes and dynamic config')
    .option('--port <port>', 'frontend gRPC port', positiveInt('--port'), 7233)
    .option('--ui-port <port>', 'Web UI port (default: port + 1000)', positiveInt('--ui-port'))
    .option('--ip <ip>', 'address to bind', '127.0.0.1')
    .option('--db-filename <file>', 'persist state in this SQLite file (default: in memory)')
    .option('--headless', 'no Web UI')
    .option('--metrics-port <port>', 'serve the server\'s Prometheus metrics (request counters per operation) on this port', positiveInt('--metrics-port'))
    .option('--ui-codec-endpoint <url>', 'the Web UI decodes payloads through this codec server (dtf codec-server)')
    .action(async (o: { port: number; uiPort?: number; ip: string; dbFilename?: string; headless?: boolean; metricsPort?: number; uiCodecEndpoint?: string }) => {
      const server = await startDevServer({ host: o.ip, port: o.port, uiPort: o.uiPort, dbFilename: o.dbFilename, headless: o.headless, metricsPort: o.metricsPort, uiCodecEndpoint: o.uiCodecEndpoint, log: (m) => console.error(m) });
      console.log(`Temporal dev server on ${server.address}${server.uiUrl ? `; Web UI at ${server.uiUrl}` : ''}${server.metricsUrl ? `; metrics at ${server.metricsUrl}` : ''}`);
      console.log('Ctrl-C to stop.');
      const stop = () => void server.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
    });

  program
    .command('worker')
    .description('serve this host\'s queues: the CPU queue, the CUDA tiers its GPUs reach, and its own host queue')
    .option('--host-id <id>', 'host identity (default: the hostname); lets several workers on one machine act as separate hosts', hostIdArg)
    .addOption(
      new Option('--simulate-gpu <NAME:MEMORY_GB:COMPUTE_CAPABILITY>', 'advertise a GPU this host does NOT have (testing without a GPU); repeatable').argParser(collectGpu),
    )
    .option('--max-tasks <n>', 'most CPU tasks at once (GPU tasks: one per free GPU, or as many as each asks for)', positiveInt('--max-tasks'), 2)
    .option('--no-cpu-tasks', 'take no CPU-only work (keep a GPU host for GPU tasks)')
    .option('--work-dir <dir>', 'where task workspaces go (default: $DTF_WORK_DIR or <tmp>/dtf-work/<host>)')
    .option('--config <file>', 'deployment config: classifier rules, retry policies, circuit breakers, quarantine, notifications (default: $DTF_CONFIG)')
    .option('--inject <CATEGORY:RATE,...>', 'fault injection: make real failures of these categories at these rates (chaos testing)', (v: string) => {
      try {
        return parseInjectOption(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .option('--inject-control <NAME,...>', `fault injection: these control activities fail on this worker (${CONTROL_ACTIVITY_NAMES.join(', ')})`, (v: string) =>
      v.split(',').map((name) => {
        if (!(CONTROL_ACTIVITY_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError(`--inject-control "${name}": expected one of ${CONTROL_ACTIVITY_NAMES.join(', ')}`);
        return name as ControlActivityName;
      }),
    )
    .option('--pass-env <NAME,...>', 'worker environment variables test commands get beyond PATH, HOME, LANG, TMPDIR (names, or PREFIX_* patterns)', (v: string) =>
      v.split(',').map((name) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(name)) throw new InvalidArgumentError(`--pass-env "${name}": expected an environment variable name, or a prefix ending in *`);
        return name;
      }),
    )
    .option('--artifact-dir <dir>', 'the local artifact store for artifacts and large checkpoints (default: the config\'s artifacts.dir, $DTF_ARTIFACT_DIR or .dtf/artifacts; overrides artifacts.s3)')
    .option('--run-as <user>', 'run test commands as this user (name or uid), in workspaces it owns; the worker must run as root')
    .addOption(
      new Option('--metrics-bind <HOST:PORT>', 'serve Prometheus metrics (the Temporal SDK\'s and dtf\'s) at http://HOST:PORT/metrics')
        .env('DTF_METRICS_BIND')
        .argParser((v: string) => {
          try {
            return parseMetricsBind(v);
          } catch (err) {
            throw new InvalidArgumentError((err as Error).message);
          }
        }),
    )
    .action(async (o: { hostId?: string; simulateGpu?: GpuInfo[]; maxTasks: number; cpuTasks: boolean; workDir?: string; config?: string; inject?: InjectRates; injectControl?: ControlActivityName[]; passEnv?: string[]; artifactDir?: string; runAs?: string; metricsBind?: string }, cmd: Command) => {
      const worker = await startHostWorker({
        ...connectOpts(cmd),
        runAs: o.runAs,
        hostId: o.hostId,
        simulateGpus: o.simulateGpu,
        maxTasks: o.maxTasks,
        cpuTasks: o.cpuTasks,
        injectControl: o.injectControl,
        passEnv: o.passEnv,
        workRoot: o.workDir,
        artifactDir: o.artifactDir,
        deployment: loadDeploymentConfig(o.config),
        inject: o.inject,
        metricsBind: o.metricsBind,
      });
      await worker.done;
    });

  program
    .command('submit <file>')
    .description('validate a task file (YAML/JSON: one task, a list, or {tasks, defaults}) and start one workflow per task')
    .option('--wait', 'show progress and a final table; exit 0 only when every task passed')
    .option('--json', 'print the final results as JSON (implies --wait)')
    .option('--batch-id <id>', 'id shared by this batch\'s workflows, at most 64 of [A-Za-z0-9._-] (default: a new one)', (v: string) =>
      parseWith(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits, ".", "_" or "-"'), v, '--batch-id'),
    )
    .option('--allow-secret-env', 'submit even if an env key looks like a secret (TOKEN, PASSWORD, API_KEY, …): its value goes into the history in clear')
    .action(async (file: string, o: { wait?: boolean; json?: boolean; batchId?: string; allowSecretEnv?: boolean }, cmd: Command) => {
      const { tasks } = readTaskFile(file); // throws SpecError before anything starts
      const secretEnv = secretLookingEnv(tasks);
      if (secretEnv.length && !o.allowSecretEnv) throw new CliError(`${secretLookingEnvMessage(file, secretEnv)}\nnothing was started`, 2);
      const batchId = o.batchId ?? newBatchId();
      await withClient(cmd, async (client) => {
        const handles = await startTasks(client, tasks, batchId);
        if (!o.wait && !o.json) {
          for (const h of handles) console.log(h.workflowId);
          console.error(`started ${handles.length} task(s), batch ${batchId}; follow with: dtf list --batch ${batchId}`);
          return;
        }
        const say = o.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
        say(`started ${handles.length} task(s), batch ${batchId}`);
        const results = await waitForTasks(handles, tasks, {
          onResult: (r, done, total) => say(`[${done}/${total}] ${r.name}: ${r.status}${r.hostId ? ` on ${r.hostId}` : ''} (${(r.durationMs / 1000).toFixed(1)} s)`),
          onTick: (done, total) => say(`… ${done}/${total} done`),
        });
        if (o.json) console.log(JSON.stringify(results, null, 2));
        else console.log(`\n${formatTable(results, tasks)}`);
        const failed = results.filter((r) => r.status !== 'passed');
        if (failed.length) throw new CliError(`${failed.length} of ${results.length} task(s) did not pass`, 1);
        void asExpected;
      });
    });

  registerStatusCommand(program, withClient);
  registerLogsCommand(program, withClient);
  registerCancelCommand(program, withClient);
  registerWorkersCommand(program, withClient);

  program
    .command('list')
    .description('list dtf tasks (newest first), filtered by search attributes')
    .addOption(new Option('--status <status>', 'only tasks with this DtfStatus').choices([...TASK_STATUSES]))
    .option('--batch <id>', 'only tasks of this batch (DtfRunId)')
    .option('--query <q>', 'extra visibility query, e.g. "DtfHardwareClass=\'cuda\'"')
    .option('--limit <n>', 'most rows', positiveInt('--limit'), 50)
    .option('--json', 'print JSON')
    .action(async (o: { status?: string; batch?: string; query?: string; limit: number; json?: boolean }, cmd: Command) => {
      const clauses = [`WorkflowType = 'testTaskWorkflow'`];
      if (o.status) clauses.push(`DtfStatus = '${o.status}'`);
      if (o.batch) clauses.push(`DtfRunId = '${o.batch.replace(/'/g, '')}'`);
      if (o.query) clauses.push(`(${o.query})`);
      await withClient(cmd, async (client) => {
        const rows: Record<string, unknown>[] = [];
        for await (const wf of client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(o.limit, 100) })) {
          const sa = Object.fromEntries(wf.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
          rows.push({ workflowId: wf.workflowId, status: sa.DtfStatus ?? '-', class: sa.DtfHardwareClass ?? '-', host: sa.DtfHost ?? '-', category: sa.DtfErrorCategory ?? '-', started: wf.startTime.toISOString() });
          if (rows.length >= o.limit) break;
        }
        if (o.json) return console.log(JSON.stringify(rows, null, 2));
        if (!rows.length) return console.log('no tasks found');
        const keys = Object.keys(rows[0]);
        const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
        console.log(keys.map((k, i) => k.toUpperCase().padEnd(widths[i])).join('  '));
        for (const r of rows) console.log(keys.map((k, i) => String(r[k]).padEnd(widths[i])).join('  ').trimEnd());
      });
    });

  program
    .command('reassign <workflowId>')
    .description('move a running task to a class (cpu, cuda), a class queue (dtf-cuda-24gb) or a host (gpu-07 / dtf-host-gpu-07)')
    .requiredOption('--to <target>', 'where to move it')
    .option('--reason <text>', 'why, for the recovery log')
    .action(async (id: string, o: { to: string; reason?: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        try {
          const res = await client.workflow.getHandle(id).executeUpdate(reassignUpdate, { args: [{ to: o.to, reason: o.reason }] });
          console.log(`reassigned ${id} to ${res.queue}`);
        } catch (err) {
          throw new CliError(`reassign rejected: ${rootMessage(err)}`, 2);
        }
      });
    });

  program
    .command('report-failure <workflowId>')
    .description('report the host running a task as unhealthy: the attempt is cancelled and the task placed elsewhere')
    .requiredOption('--category <category>', 'error category, e.g. HARDWARE_PERFORMANCE_ERROR', (v: string) => parseWith(CategoryName, v, '--category'))
    .requiredOption('--message <text>', 'what is wrong')
    .option('--host <id>', 'the unhealthy host (default: the one running the task)', hostIdArg)
    .action(async (id: string, o: { category: string; message: string; host?: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        await client.workflow.getHandle(id).signal(reportFailureSignal, { category: o.category, message: o.message, hostId: o.host });
        console.log(`reported ${o.category} on ${id}`);
      });
    });

  addDlqCommands(program, withClient);

  program
    .command('classify')
    .description('classify error messages: one JSON object per input line ({message, exit_code?, signal?}) → {category, kind, rule, decidedBy, confidence}')
    .requiredOption('--jsonl <file>', 'JSONL input file, or - for stdin')
    .option('--config <file>', 'deployment config with extra rules (default: $DTF_CONFIG)')
    .action((o: { jsonl: string; config?: string }) => {
      const text = o.jsonl === '-' ? fs.readFileSync(0, 'utf8') : readOrThrow(o.jsonl);
      const rules = compileRules(loadDeploymentConfig(o.config).classifier);
      for (const line of classifyJsonl(text, rules)) console.log(line);
    });

  program
    .command('demo')
    .description('start a local server (if none), a CPU worker and two simulated CUDA workers, run the example suite')
    .option('--suite <file>', 'task file to run', 'examples/demo-suite.yaml')
    .option('--keep', 'leave the server and workers running afterwards')
    .action(async (o: { suite: string; keep?: boolean }) => {
      const ok = await runDemo({ suite: o.suite, keep: o.keep });
      if (!ok) throw new CliError('some demo tasks did not end as expected', 1);
    });

  registerReportCommand(program);
  registerCodecCommands(program);
  return program;
}

function parseWith<T>(schema: z.ZodType<T>, value: string, flag: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`${flag} "${value}": ${parsed.error.issues[0].message}`);
  return parsed.data;
}

function readOrThrow(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2);
  }
}


export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) throw new CliError('', 2); // commander already printed it
    if (err instanceof SpecError) throw new CliError(`${err.message}\nnothing was started`, 2);
    if (err instanceof TemporalCliNotFoundError) throw new CliError(err.message, 2);
    const codecProblem = explainCodecError(err);
    if (codecProblem) throw new CliError(codecProblem, 2);
    throw err;
  }
}
