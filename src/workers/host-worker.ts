/**
 * One dtf worker process per host: detects the hardware, then serves the workflow queue (workflows and control
 * activities), every class queue this host qualifies for, and its own host queue, on one connection.
 */
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino, { Logger } from 'pino';
import { ControlActivityName, createControlActivities } from '../activities/control';
import { createResultsActivities } from '../activities/results';
import { InjectRates } from '../activities/fault-injection';
import { sweepLeftovers } from '../activities/saga';
import { createTaskActivities } from '../activities/task';
import { CommandSpawner } from '../activities/spawner';
import { describeCodec } from '../codec/data-converter';
import { ConnectOptions, connectClient, connectWorker } from '../config/connection';
import { DeploymentConfig } from '../config/deployment';
import { breakerNotification, quarantineNotification } from '../notifications/events';
import { Notifier, createNotifier } from '../notifications/notifier';
import { HostQuarantine, createQuarantineGate } from '../resilience/host-quarantine';
import { GpuPool, HostSlotSupplier, hostSlotTuner } from '../resilience/host-slots';
import { FLEET_WATCH_WORKFLOW_ID } from '../workflows/fleet-watch';
import { WORKER_HEARTBEAT_INTERVAL, healthOf, reportHostHealth } from './host-health';
import { ServiceBreakers } from '../resilience/service-breakers';
import { compileRules } from '../domain/classification';
import { CPU_TASK_QUEUE, GpuInfo, HostHardware, WORKFLOW_TASK_QUEUE, classQueuesFor, hostQueue, workerIdentity } from '../domain/hardware';
import { detectHardware } from './hardware-detection';
import { ArtifactsConfig } from '../domain/artifacts';
import { createArtifactStore } from '../artifacts/store';
import { resolveRunAs, unreachableFor } from './run-as';
import { AlertEvaluator } from '../metrics/alerts';
import { DtfMetrics } from '../metrics/dtf-metrics';
import { startGpuSampler } from '../metrics/gpu-sampler';
import { LiveAlerts, metricsTelemetry, startLiveAlerts, withTaskRecordMetrics } from '../metrics/worker-telemetry';

export interface HostWorkerOptions extends ConnectOptions {
  hostId?: string;
  simulateGpus?: GpuInfo[];
  /** Most CPU tasks this host runs at once (GPU tasks are bounded by its GPUs). */
  maxTasks?: number;
  /** Take CPU-only work too (default true); a GPU host may keep itself for GPU work. */
  cpuTasks?: boolean;
  workRoot?: string;
  logger?: Logger;
  deployment?: DeploymentConfig;
  /** Fault injection for every task this worker runs (chaos testing). */
  inject?: InjectRates;
  /** Fault injection: these control activities fail on this worker (chaos testing of the workflow's plumbing). */
  injectControl?: ControlActivityName[];
  /** Worker environment variables (names, or `PREFIX_*`) that commands get beyond PATH, HOME, LANG, TMPDIR (`--pass-env`). */
  passEnv?: string[];
  /** The results store's URL (default: $DTF_RESULTS_DB, else SQLite under .dtf/). */
  resultsDb?: string;
  /** Serve workflow tasks too (default true); a pure executor host may leave them to others. */
  serveWorkflows?: boolean;
  /** The local artifact store's directory (`--artifact-dir`); overrides the deployment's `artifacts.dir` and `s3`. */
  artifactDir?: string;
  /** Run test commands as this user (name or uid); the worker must be root (`--run-as`). */
  runAs?: string;
  /** Serve Prometheus metrics (the SDK's and dtf's) on HOST:PORT (`--metrics-bind`, $DTF_METRICS_BIND). */
  metricsBind?: string;
}

export interface RunningHostWorker {
  hardware: HostHardware;
  identity: string;
  queues: string[];
  quarantine: HostQuarantine;
  slots: HostSlotSupplier;
  breakers: ServiceBreakers;
  notifier: Notifier;
  /** dtf's metrics of this worker, and its live alert rules and connection watch. */
  metrics: DtfMetrics;
  alerts: LiveAlerts;
  /** Resolves when every worker has stopped (after shutdown()). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

export function workflowBundlePath(): string | undefined {
  const bundle = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');
  return fs.existsSync(bundle) ? bundle : undefined;
}

export async function startHostWorker(opts: HostWorkerOptions = {}): Promise<RunningHostWorker> {
  const logger = opts.logger ?? pino({ name: 'dtf-worker' });
  const runAs = opts.runAs ? resolveRunAs(opts.runAs) : undefined; // before anything starts: a bad user ends it here
  // Before the Runtime: its metrics carry the host id. Nothing here connects to the server.
  const hardware = await detectHardware({ hostId: opts.hostId, simulateGpus: opts.simulateGpus });
  if (runtimeInstalled && opts.metricsBind) logger.warn('metrics: this process already installed its Temporal runtime; --metrics-bind is ignored for this worker');
  if (!runtimeInstalled) {
    // SDK-internal logs only when they matter; ours go through pino. Shutdown on SIGINT/SIGTERM is the SDK's.
    Runtime.install({
      // Worker heartbeats carry each queue's used slots: `dtf workers` reads them back (ListWorkers).
      workerHeartbeatInterval: WORKER_HEARTBEAT_INTERVAL,
      ...(opts.metricsBind ? { telemetryOptions: metricsTelemetry(opts.metricsBind, hardware.hostId) } : {}),
      logger: new DefaultLogger('WARN', (entry) => {
        // Activity-only workers (class and host queues) are that way on purpose.
        if (entry.message.startsWith('No workflows registered')) return;
        console.error(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}`, entry.meta ?? '');
      }),
    });
    runtimeInstalled = true;
  }
  const cpuTasks = opts.cpuTasks !== false;
  const identity = workerIdentity(hardware, process.pid, { cpuTasks });
  const log = logger.child({ host: hardware.hostId });
  for (const gpu of hardware.gpus.filter((g) => g.simulated)) {
    log.warn({ gpu }, `SIMULATING a GPU this host does not have: ${gpu.name} ${gpu.memoryGb} GB cc ${gpu.computeCapability ?? '?'} (--simulate-gpu)`);
  }
  const { connection, namespace, dataConverter } = await connectWorker(opts);
  const client = await connectClient(opts);
  if (dataConverter) log.info(describeCodec(dataConverter));
  const workRoot = path.resolve(opts.workRoot ?? process.env.DTF_WORK_DIR ?? path.join(os.tmpdir(), 'dtf-work', hardware.hostId));
  fs.mkdirSync(workRoot, { recursive: true });
  const blocked = runAs && unreachableFor(runAs, workRoot);
  if (blocked) throw new Error(`--run-as ${runAs.user}: the user cannot enter ${blocked.dir} (mode ${blocked.mode}), on the way to the work dir ${workRoot}`);
  // Nothing of this host runs yet: undo whatever a crashed predecessor left (workspaces, GPU leases, teardowns).
  await sweepLeftovers(workRoot, log);
  if (opts.injectControl?.length) log.warn({ injectControl: opts.injectControl }, `FAULT INJECTION IS ON for host ${hardware.hostId}: control activities ${opts.injectControl.join(', ')} fail`);
  if (opts.inject && Object.keys(opts.inject).length) {
    log.warn({ inject: opts.inject }, `FAULT INJECTION IS ON for host ${hardware.hostId}: attempts fail on purpose at these rates`);
  }
  const hostId = hardware.hostId;
  const notifier = createNotifier(opts.deployment?.notifications, log.child({ component: 'notifications' }));
  const metrics = new DtfMetrics(opts.metricsBind ? Runtime.instance().metricMeter : undefined, new AlertEvaluator(opts.deployment?.alerts));
  metrics.quarantined(false);
  const breakers = new ServiceBreakers(opts.deployment?.breakers, {
    onStateChange(service, state, info) {
      log.warn({ service, state, ...info }, `circuit breaker for "${service}" is ${state}`);
      metrics.breakerChanged(service, state);
      const n = breakerNotification(service, state, info, hostId);
      if (n) void notifier.notify(n);
    },
  });
  const quarantine = new HostQuarantine(opts.deployment?.quarantine, Date.now, (event) => {
    if (event.type !== 'half-open') metrics.quarantined(event.type === 'quarantined');
    if (event.type === 'quarantined') {
      log.error({ reason: event.reason, until: new Date(event.until).toISOString() }, `host ${hostId} QUARANTINED: it takes no class-queue work until the cool-down ends (${event.reason})`);
    } else if (event.type === 'half-open') {
      log.warn(`host ${hostId} cool-down over: taking one trial task`);
    } else {
      log.info({ quarantinedForMs: event.quarantinedForMs }, `host ${hostId} healthy again: taking class-queue work`);
    }
    const n = quarantineNotification(hostId, event);
    if (n) void notifier.notify(n);
    reportHostHealth(client, { hostId, pid: process.pid, ...healthOf(event) }, log);
  });
  const gpuMemoryGb = Math.max(0, ...hardware.gpus.map((g) => g.memoryGb));
  // Tasks pinned to this host by a user or an operator run even while it is quarantined: someone chose it on purpose.
  const gate = createQuarantineGate(quarantine, { hostId, gpuMemoryGb, isExempt: (ctx) => ctx.pinned === true, slotsAdmit: true });
  // The results store (SQLite by default, PostgreSQL with DTF_RESULTS_DB=postgres://…): written by the workflows this
  // worker runs, and by its task activities for tasks that pass on their first attempt.
  const resultsActivities = withTaskRecordMetrics(createResultsActivities(opts.resultsDb ?? process.env.DTF_RESULTS_DB), metrics, client, log);
  const gpus = new GpuPool(hardware.gpus.length);
  const maxTasks = opts.maxTasks ?? 2;
  // One supplier for all of this host's activity queues: it knows the GPUs, the CPU slots and the quarantine.
  const slots = new HostSlotSupplier({ maxTasks, gpus, quarantine });
  const passEnv = [...(opts.deployment?.environment.pass ?? []), ...(opts.passEnv ?? [])];
  const artifacts = opts.deployment?.artifacts ?? ArtifactsConfig.parse({});
  const artifactStore = createArtifactStore(artifacts, { dir: opts.artifactDir });
  log.info(`artifact store: ${artifactStore.description}`);
  if (runAs) log.info({ runAs }, `test commands run as ${runAs.user} (uid ${runAs.uid}, gid ${runAs.gid})`);
  // Commands start from a small process of their own: a spawn from this one costs ~4 ms of CPU for its page tables.
  const spawner = process.env.DTF_SPAWNER === 'off' ? undefined : new CommandSpawner(log.child({ component: 'spawner' }));
  const taskActivities = createTaskActivities({
    spawner,
    artifacts,
    artifactStore,
    runAs,
    gpus,
    passEnv,
    results: resultsActivities,
    hardware,
    identity,
    workRoot,
    logger: log,
    client,
    rules: compileRules(opts.deployment?.classifier),
    policies: opts.deployment?.policies,
    inject: opts.inject,
    breakers,
    gate,
    notifier,
    metrics,
  });
  const classQueues = classQueuesFor(hardware, { cpuTasks });
  const activityQueues = [...classQueues, hostQueue(hostId)];
  const workers: Worker[] = [];
  if (opts.serveWorkflows !== false) {
    const bundle = workflowBundlePath();
    workers.push(
      await Worker.create({
        connection,
        namespace,
        identity,
        dataConverter,
        taskQueue: WORKFLOW_TASK_QUEUE,
        ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../workflows') }),
        activities: { ...createControlActivities(client, notifier, { failing: opts.injectControl }), ...resultsActivities },
        // A workflow whose sticky worker died waits this long before another worker takes its next task: it is on
        // the path from a worker's death to its task's next attempt (the SDK's default is 10 s).
        stickyQueueScheduleToStartTimeout: '1s',
      }),
    );
  }
  for (const taskQueue of activityQueues) {
    workers.push(
      await Worker.create({
        connection,
        namespace,
        identity,
        dataConverter,
        taskQueue,
        activities: taskActivities,
        tuner: hostSlotTuner(slots),
        // Each poll holds a slot: a GPU queue polls once per free GPU at most, the others a few at a time.
        maxConcurrentActivityTaskPolls: taskQueue === CPU_TASK_QUEUE || !classQueues.includes(taskQueue) ? Math.min(5, maxTasks) : Math.max(1, Math.min(5, hardware.gpus.length)),
        // Cancellation reaches a running command through heartbeats; keep them frequent enough for seconds-level reaction.
        maxHeartbeatThrottleInterval: '1s',
      }),
    );
  }
  if (opts.serveWorkflows !== false) await ensureFleetWatch(client, log);
  const alerts = startLiveAlerts({ metrics, evaluator: metrics.alerts!, notifier, connection, hostId, log: log.child({ component: 'alerts' }) });
  const gpuSampler = opts.metricsBind ? startGpuSampler(hardware, metrics, log) : undefined;
  if (opts.metricsBind) log.info(`metrics (Prometheus) at http://${opts.metricsBind}/metrics`);
  log.info({ identity, queues: activityQueues, hardware }, `dtf worker for host ${hardware.hostId} serving ${activityQueues.join(', ')}`);
  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    alerts.stop();
    gpuSampler?.stop();
    spawner?.close();
    await resultsActivities.close().catch(() => undefined);
    await client.connection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    log.info('dtf worker stopped');
  });
  return {
    hardware,
    identity,
    queues: activityQueues,
    quarantine,
    slots,
    breakers,
    notifier,
    metrics,
    alerts,
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

/**
 * Starts the fleet's one fleet watch if it is not running (idempotent: every worker and `dtf submit` call this).
 * A failure is logged, never fatal: tasks still run, they only learn later that nobody can take them.
 */
export async function ensureFleetWatch(client: Client, log?: Logger): Promise<void> {
  try {
    await client.workflow.start('fleetWatchWorkflow', {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: FLEET_WATCH_WORKFLOW_ID,
      args: [{}],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: 'dtf fleet watch',
    });
  } catch (err) {
    log?.warn({ err }, 'could not start the fleet watch');
  }
}

export type { NativeConnection };
