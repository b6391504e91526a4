/**
 * runTestTask: on the host that picked the task up, checks the host fits, makes a workspace, runs the command
 * (argv, no shell) with heartbeats and output streaming, cleans up, and on failure classifies it and throws an
 * ApplicationFailure whose type is the category, with the error report and the in-place retry decision.
 */
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Classification, CompiledRule, classifyFailure } from '../domain/classification';
import { ErrorFrequencyTracker, RECURRING_THRESHOLD } from '../domain/error-frequency';
import { GpuInfo, HostHardware, bestComputeCapability } from '../domain/hardware';
import { Placement, hostMeetsRequirement } from '../domain/placement';
import { PolicyTableOverrides, inPlaceDecision, policyFor } from '../domain/policies';
import type { AttemptHeartbeat, CommandSuccess, FailureMeta, TestTaskResult } from '../domain/task-result';
import type { AttemptCarry } from '../domain/artifacts';
import { taskRecordFromResult } from '../domain/task-record';
import { commandEnvironment } from '../domain/command-env';
import { OutputRedaction, lineRedactor, redactOutput } from '../domain/output-redaction';
import { secretValuesOf } from '../domain/redact';
import type { ResultsActivities } from './results';
import type { TestTaskSpec } from '../domain/task-spec';
import { TestsSummary, testsVerdict } from '../domain/test-results';
import { junitSummary } from '../results/junit';
import { LiveLines } from '../domain/live-output';
import { recurringErrorNotification } from '../notifications/events';
import type { Notifier } from '../notifications/notifier';
import type { QuarantineGate } from '../resilience/host-quarantine';
import { ServiceBreakers, ServiceProbeError, ServiceUnavailableError } from '../resilience/service-breakers';
import { attemptStartedSignal } from '../workflows/messages';
import { GpuPool } from '../resilience/host-slots';
import { buildErrorReport } from './error-report';
import { FAULTS, InjectRates, drawFault } from './fault-injection';
import { CompensationRecord, HostSaga, createWorkspace, writeGpuLeaseFiles } from './saga';
import { AttemptCarrier } from './attempt-carry';
import { CommandOptions, CommandSpawner, RunningCommand, spawnDirect } from './spawner';
import { ArtifactsConfig, CheckpointRef } from '../domain/artifacts';
import { ArtifactStore, createArtifactStore } from '../artifacts/store';
import type { DtfMetrics } from '../metrics/dtf-metrics';

export interface TaskActivityDeps {
  hardware: HostHardware;
  identity: string;
  /** Root of this host's task workspaces. */
  workRoot: string;
  logger: Logger;
  client: Client;
  rules?: readonly CompiledRule[];
  policies?: PolicyTableOverrides;
  heartbeatIntervalMs?: number;
  /** Grace between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
  /** Starts commands and setup steps from a small process of its own (see spawner.ts); without it, from this one. */
  spawner?: CommandSpawner;
  /** Worker-wide fault injection (`dtf worker --inject`). */
  inject?: InjectRates;
  /** This host's circuit breakers for the services tasks declare (default: one with default thresholds). */
  breakers?: ServiceBreakers;
  /** Host self-quarantine: refuses class-queue tasks while quarantined and learns from every outcome. */
  gate?: QuarantineGate;
  /** Where recurring errors are announced. */
  notifier?: Notifier;
  /** This host's GPUs, shared with its slot supplier (default: a pool of the detected GPUs). */
  gpus?: GpuPool;
  /** Names (or `PREFIX_*`) of the worker's environment that commands get beyond the base (`environment.pass`, `--pass-env`). */
  passEnv?: readonly string[];
  /** The results store, for the records of tasks that pass on their first attempt (see recordOnPass). */
  results?: Pick<ResultsActivities, 'recordTaskResult'>;
  /** Where artifacts and large checkpoints go (default: the local store of `artifacts`, .dtf/artifacts). */
  artifactStore?: ArtifactStore;
  /** Artifact bounds and checkpoint thresholds (the deployment's `artifacts:`). */
  artifacts?: ArtifactsConfig;
  /** Commands, setup steps and teardowns run as this user (`dtf worker --run-as`), in a workspace it owns, with its HOME. */
  runAs?: { uid: number; gid: number; home?: string };
  /** Attempt outcomes and failures by category (dtf_task_attempts, dtf_attempt_failures) and the live alert rules. */
  metrics?: DtfMetrics;
}

export interface RunTestTaskInput {
  spec: TestTaskSpec;
  placement: Placement;
  placementIndex: number;
  /** 1-based count of attempts on this placement: the category's maxAttemptsInPlace is checked against it. */
  attemptInPlacement: number;
  /** 1-based count of attempts of the task across placements (and redrives): names the workspace, DTF_ATTEMPT. */
  attempt: number;
  workflowId: string;
  /**
   * Set on a task's first attempt: if it passes, its passing ends the task, so the worker writes the task's record
   * to the results store itself, after answering, and the workflow's own write (a local activity) is saved.
   */
  recordOnPass?: { runId: string; batchId?: string; labels: Record<string, string>; startedAtMs: number };
  /** The task's newest checkpoint: restored into DTF_CHECKPOINT_DIR before the command runs. */
  checkpoint?: CheckpointRef;
}

/** When an attempt sends its first heartbeat (then one every heartbeatIntervalMs). */
export const FIRST_HEARTBEAT_AFTER_MS = 250;
/** A task still running after this long tells its workflow it started (status `running`); short ones never pay for it. */
export const STARTED_SIGNAL_AFTER_MS = 5_000;
/**
 * A class-queue task that arrives while its GPUs are leased (two queues' polls returned at once) waits this long
 * for one to free up before it is handed back to its queue. Tasks pinned to the host, and multi-GPU tasks on a host
 * with enough GPUs, wait as long as it takes: the GPUs they wait for are reserved, so no other task takes them.
 */
export const GPU_HANDBACK_WAIT_MS = 2_000;
/** Retry delay of a task handed back to its queue because its GPUs were busy. */
export const GPU_HANDBACK_DELAY_MS = 1_000;

const TAIL_BYTES = 16 * 1024;

/** Keeps the last `limit` characters of a stream. */
export class OutputTail {
  private text = '';
  constructor(private readonly limit = TAIL_BYTES) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.limit * 2) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.slice(-this.limit);
  }
}

export function workspaceName(workflowId: string, placementIndex: number, attempt: number): string {
  return `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}-p${placementIndex}-a${attempt}`;
}

/** What an attempt saw, for classification and the failure it throws. */
interface Observed {
  message: string;
  exitCode: number | null;
  signal: string | null;
  outputTail: string;
  durationMs: number;
  compensation?: CompensationRecord[];
  /** No retry before this (an open breaker's time until half-open). */
  minDelayMs?: number;
  tests?: TestsSummary;
  carry?: AttemptCarry;
}

/** Thrown inside an attempt to end it early with a classified failure (after its undos have run). */
class AttemptStop extends Error {
  constructor(
    readonly classification: Classification,
    readonly observed: Omit<Observed, 'outputTail' | 'durationMs'>,
  ) {
    super(observed.message);
  }
}

export function createTaskActivities(deps: TaskActivityDeps) {
  const tracker = new ErrorFrequencyTracker();
  const gpuMemoryGb = Math.max(0, ...deps.hardware.gpus.map((g) => g.memoryGb));
  const simulatedGpus: GpuInfo[] = deps.hardware.gpus.filter((g) => g.simulated);
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 1_000;
  const breakers = deps.breakers ?? new ServiceBreakers();
  const gpus = deps.gpus ?? new GpuPool(deps.hardware.gpus.length);
  const artifactsConfig = deps.artifacts ?? ArtifactsConfig.parse({});
  const artifactStore = deps.artifactStore ?? createArtifactStore(artifactsConfig);
  const gpuModel = deps.hardware.gpus[0]?.name ?? 'none';

  async function fail(input: RunTestTaskInput, classification: Classification, observed: Observed): Promise<never> {
    const ctx = Context.current();
    const attempt = input.attemptInPlacement;
    const policy = policyFor(classification.category, classification.kind, deps.policies, input.spec.retry);
    const planned = inPlaceDecision(policy, classification.kind, attempt);
    const decision = { ...planned, delayMs: Math.max(planned.delayMs, observed.minDelayMs ?? 0) };
    const report = await buildErrorReport({
      classification,
      message: observed.message,
      exitCode: observed.exitCode,
      signal: observed.signal,
      outputTail: observed.outputTail,
      ids: {
        taskId: input.spec.name,
        workflowId: input.workflowId,
        runId: ctx.info.workflowExecution?.runId,
        activityId: ctx.info.activityId,
        attempt: input.attempt,
        workerIdentity: deps.identity,
        hostId: deps.hardware.hostId,
      },
      env: { ...process.env, ...input.spec.env } as Record<string, string>,
      simulatedGpus,
      tracker,
    });
    if (report.frequency.lastHour === RECURRING_THRESHOLD + 1) {
      // Announced once, as the error becomes recurring; the report of every later one says how often it recurs.
      void deps.notifier?.notify(
        recurringErrorNotification({ category: classification.category, message: report.message, hostId: deps.hardware.hostId, lastHour: report.frequency.lastHour }),
      );
    }
    const meta: FailureMeta = {
      attempt,
      hostId: deps.hardware.hostId,
      gpuMemoryGb,
      exitCode: observed.exitCode,
      signal: observed.signal,
      durationMs: observed.durationMs,
      outputTail: report.outputTail,
      kind: classification.kind,
      rule: classification.rule,
      policy,
      retryInPlace: decision.retryInPlace,
      delayMs: decision.delayMs,
      compensation: observed.compensation ?? [],
      ...(observed.tests ? { tests: observed.tests } : {}),
      ...(observed.carry ? { carry: observed.carry } : {}),
    };
    deps.logger.warn(
      { task: input.spec.name, category: classification.category, kind: classification.kind, rule: classification.rule, attempt: input.attempt, retryInPlace: decision.retryInPlace, delayMs: decision.delayMs },
      `task failed: ${report.message}`,
    );
    deps.metrics?.attemptEnded({
      outcome: policy.then === 'record-test-failure' ? 'failed' : 'error',
      hwClass: input.placement.hwClass,
      category: classification.category,
      kind: classification.kind,
      gpuModel,
    });
    // The workflow carries out every retry (the activity runs with maximumAttempts 1): meta says whether and when.
    throw ApplicationFailure.create({ type: classification.category, message: report.message, details: [report, meta], nonRetryable: true });
  }

  /** Probes the services the task declares, each through this host's breaker; a failure ends the attempt. */
  async function checkServices(spec: TestTaskSpec): Promise<void> {
    for (const service of spec.services) {
      try {
        await breakers.checkService(service.name, service.url, service.timeoutMs);
      } catch (err) {
        const observed = { message: err instanceof Error ? err.message : String(err), exitCode: null, signal: null };
        if (err instanceof ServiceUnavailableError) {
          throw new AttemptStop({ category: err.category, kind: 'transient', rule: 'service-breaker-open' }, { ...observed, minDelayMs: err.retryAfterMs });
        }
        if (err instanceof ServiceProbeError) throw new AttemptStop({ category: err.category, kind: 'transient', rule: 'service-probe-failed' }, observed);
        throw err;
      }
    }
  }

  /** Leases the GPUs the task needs on this host, waiting as its placement allows; sets CUDA_VISIBLE_DEVICES. */
  async function leaseGpus(input: RunTestTaskInput, saga: HostSaga, env: Record<string, string>, signal: AbortSignal): Promise<void> {
    const { spec, placement } = input;
    const need = Math.max(spec.hardware.minGpuMemoryGb ?? 0, placement.tierGb ?? 0) * 0.95;
    const candidates = deps.hardware.gpus
      .map((g, index) => ({ g, index }))
      .filter(({ g }) => g.memoryGb >= need)
      .sort((a, b) => a.g.memoryGb - b.g.memoryGb) // smallest GPUs that fit: keep big ones for big tasks
      .map(({ index }) => index);
    const count = spec.hardware.gpus;
    if (candidates.length < count) {
      throw new AttemptStop(
        { category: 'HARDWARE_CAPABILITY_ERROR', kind: 'resource', rule: 'host-has-too-few-gpus' },
        { message: `host ${deps.hardware.hostId} has ${candidates.length} GPU(s) that fit, the task needs ${count}`, exitCode: null, signal: null },
      );
    }
    const fromClassQueue = !placement.hostId;
    const got = await gpus.acquire(input.workflowId, count, candidates, {
      countedBySlot: fromClassQueue && placement.hwClass === 'cuda',
      // A single-GPU class-queue task that finds its GPU taken was dispatched by a race of two polls: hand it back.
      maxWaitMs: fromClassQueue && count === 1 ? GPU_HANDBACK_WAIT_MS : undefined,
      signal,
    });
    if (!got) {
      throw new AttemptStop(
        { category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'gpu-lease-busy' },
        { message: `every GPU of ${deps.hardware.hostId} that fits is leased to another task`, exitCode: null, signal: null, minDelayMs: GPU_HANDBACK_DELAY_MS },
      );
    }
    for (const lease of await writeGpuLeaseFiles(deps.workRoot, got, input.workflowId)) {
      await saga.register({ kind: 'gpu-lease', file: lease.file, gpu: lease.gpu });
    }
    env.CUDA_VISIBLE_DEVICES = got.join(',');
  }

  async function runTestTask(input: RunTestTaskInput): Promise<CommandSuccess> {
    if (!deps.gate) return runAttempt(input);
    const { info } = Context.current();
    return deps.gate.guard({ taskQueue: info.taskQueue, attempt: input.attemptInPlacement, pinned: input.placement.pinned }, () => runAttempt(input));
  }

  /**
   * One attempt, start to end under one heartbeat: service probes, workspace, GPU lease, setup steps, command,
   * teardowns and workspace removal. Whatever ends it (failure, cancellation, success), its undos run here first.
   */
  async function runAttempt(input: RunTestTaskInput): Promise<CommandSuccess> {
    const ctx = Context.current();
    const { spec } = input;
    const log = deps.logger.child({ task: spec.name, workflowId: input.workflowId, attempt: input.attempt });
    const started = Date.now();
    const live = new LiveLines();
    const carrier = new AttemptCarrier({
      store: artifactStore,
      config: artifactsConfig,
      workflowId: input.workflowId,
      attempt: input.attempt,
      host: deps.hardware.hostId,
      log,
      given: input.checkpoint,
      artifacts: spec.artifacts ?? [], // specs from before `artifacts` have none
      onChange: () => beat && heartbeat(),
    });
    const heartbeat = () => {
      const carry = carrier.carry();
      ctx.heartbeat({ attempt: input.attempt, hostId: deps.hardware.hostId, gpuMemoryGb, elapsedMs: Date.now() - started, output: live.snapshot(), ...(carry.checkpoint || carry.artifacts ? { carry } : {}) } satisfies AttemptHeartbeat);
      carrier.tick();
    };
    // The first beat comes early, so that a worker killed or frozen soon after it started is known by name (and
    // excluded: a frozen host still looks alive in the poller lists for a while); a task shorter than that sends none.
    // A later first beat (1 s) was tried: it saved the throughput bench half a request per task under load, and let a
    // host frozen in its first second take the task back (real-fleet.test.ts).
    let beat: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      heartbeat();
      beat = setInterval(heartbeat, heartbeatIntervalMs);
    }, FIRST_HEARTBEAT_AFTER_MS);
    const startedSignal = setTimeout(() => {
      void deps.client.workflow
        .getHandle(input.workflowId)
        .signal(attemptStartedSignal, { placement: input.placementIndex, attempt: input.attempt, hostId: deps.hardware.hostId })
        .catch((err: unknown) => log.warn({ err }, 'could not tell the workflow the attempt started'));
    }, STARTED_SIGNAL_AFTER_MS);
    try {
      return await attemptBody(input, ctx, log, started, live, carrier);
    } finally {
      clearTimeout(first);
      clearInterval(beat);
      clearTimeout(startedSignal);
    }
  }

  async function attemptBody(input: RunTestTaskInput, ctx: Context, log: Logger, started: number, live: LiveLines, carrier: AttemptCarrier): Promise<CommandSuccess> {
    const { spec, placement } = input;
    const fits = hostMeetsRequirement({ gpuMemoryGb, computeCapability: bestComputeCapability(deps.hardware) }, spec, placement);
    if (!fits.ok) {
      const category = gpuMemoryGb <= 0 ? 'HARDWARE_AVAILABILITY_ERROR' : 'HARDWARE_CAPABILITY_ERROR';
      return fail(input, { category, kind: 'resource', rule: 'host-does-not-meet-requirement' }, {
        message: `host ${deps.hardware.hostId} cannot run this task: ${fits.reason}`,
        exitCode: null,
        signal: null,
        outputTail: '',
        durationMs: 0,
      });
    }
    const wsName = workspaceName(input.workflowId, input.placementIndex, input.attempt);
    const workspace = path.join(deps.workRoot, wsName);
    const cwd = spec.cwd ? path.resolve(workspace, spec.cwd) : workspace;
    const tail = new OutputTail();
    const saga = new HostSaga(deps.workRoot, wsName, log);
    const env: Record<string, string> = {
      DTF_TASK: spec.name,
      DTF_HOST: deps.hardware.hostId,
      DTF_WORKSPACE: workspace,
      DTF_ATTEMPT: String(input.attempt),
      DTF_GPU_MEMORY_GB: String(gpuMemoryGb),
    };
    // A clean environment: nothing of the worker's own passes but the base, the deployment's allowlist and the
    // task's secrets by reference (resolved here, on the host; redacted wherever output goes).
    const runAs = deps.runAs && { uid: deps.runAs.uid, gid: deps.runAs.gid };
    const worker = deps.runAs?.home ? { ...process.env, HOME: deps.runAs.home } : process.env;
    const commandEnv = () => commandEnvironment({ worker, pass: deps.passEnv ?? [], task: spec.env, secretEnv: spec.secretEnv, dtf: env });
    const { secrets, missing } = commandEnv();
    // Output is scrubbed as error reports are, wherever it goes: the log line by line, the tail in the result.
    const redaction: OutputRedaction = { secrets, knownSecrets: secretValuesOf({ ...process.env, ...spec.env }) };
    const redact = (text: string) => redactOutput(text, redaction);
    const run = (command: string[], timeoutSeconds: number) =>
      runCommand(command, commandEnv().env, timeoutSeconds, cwd, tail, log, ctx, { killGraceMs: deps.killGraceMs ?? 2_000, redaction, runAs, live, ...(deps.spawner ? { start: (p, a, o) => deps.spawner!.start(p, a, o) } : {}) });
    let result: RunResult | undefined;
    let setupFailed: string | undefined;
    let junitXml: string | undefined;
    let tests: TestsSummary | undefined;
    let stop: AttemptStop | undefined;
    let compensation: CompensationRecord[] = [];
    try {
      if (missing.length) {
        throw new AttemptStop(
          { category: 'TEST_CONFIGURATION_ERROR', kind: 'validation', rule: 'secret-env-missing' },
          { message: `secretEnv ${missing.map((m) => `${m.name} names ${m.from}, which host ${deps.hardware.hostId} does not have`).join('; ')}`, exitCode: null, signal: null },
        );
      }
      await checkServices(spec);
      // Beside the workspace, not in it: a setup step may clone into the workspace, which must then be empty. It is
      // a marked workspace of its own, so that the crash sweep removes it too.
      const checkpointDir = await createWorkspace(deps.workRoot, `ckpt-${wsName}`, input.workflowId, runAs);
      await saga.register({ kind: 'workspace', path: checkpointDir });
      await createWorkspace(deps.workRoot, wsName, input.workflowId, runAs);
      await saga.register({ kind: 'workspace', path: workspace });
      const restored = await carrier.prepare(checkpointDir, cwd);
      env.DTF_CHECKPOINT_DIR = checkpointDir;
      env.DTF_CHECKPOINT_RESTORED = restored !== undefined ? '1' : '0';
      env.DTF_CHECKPOINT_SEQ = String(restored ?? 0);
      if (placement.hwClass === 'cuda') await leaseGpus(input, saga, env, ctx.cancellationSignal);
      for (const step of spec.setup) {
        result = await run(step.command, step.timeoutSeconds);
        if (result.exitCode !== 0 || result.timedOut || ctx.cancellationSignal.aborted) {
          setupFailed = step.name;
          break;
        }
        if (step.teardown) {
          // The manifest on disk keeps the secrets' names, never their values: they are resolved again when it runs.
          const stepEnv = commandEnv().env;
          for (const s of secrets) delete stepEnv[s.name];
          await saga.register({ kind: 'teardown', name: step.name, command: step.teardown, cwd, env: stepEnv, secretEnv: spec.secretEnv, timeoutSeconds: step.timeoutSeconds, ...(runAs ? { runAs } : {}) });
        }
      }
      if (!setupFailed && !ctx.cancellationSignal.aborted) {
        const fault = drawFault({ ...deps.inject, ...spec.inject });
        if (fault) log.warn({ fault }, `FAULT INJECTION: this attempt runs a real ${fault} instead of the task's command`);
        result = await run(fault ? FAULTS[fault]() : spec.command, spec.timeoutSeconds);
      }
      // Read before the undos remove the workspace the report was written in.
      ({ junitXml, tests } = await readReports(spec, cwd, deps.hardware.hostId, log));
    } catch (err) {
      if (!(err instanceof AttemptStop)) throw err;
      stop = err;
    } finally {
      // The last checkpoint and the artifacts, passed or failed, before the undos remove the workspace.
      await carrier.finish();
      compensation = await saga.compensate();
      gpus.release(input.workflowId);
    }
    const durationMs = Date.now() - started;
    if (ctx.cancellationSignal.aborted) {
      log.info('task cancelled; command stopped and its undos run');
      deps.metrics?.attemptEnded({ outcome: 'cancelled', hwClass: placement.hwClass });
      throw new CancelledFailure(`cancelled on ${deps.hardware.hostId}`, [carrier.carry()]);
    }
    const carry = carrier.carry();
    const outputTail = redact(tail.toString());
    if (stop) return fail(input, stop.classification, { ...stop.observed, outputTail, durationMs, compensation, carry });
    result = result!;
    const verdict = tests ? testsVerdict(tests) : undefined;
    const ran = !setupFailed && !result.timedOut && !result.spawnError && !result.signal;
    // The report decides over the exit code: failed cases fail the task; failures of quarantined cases alone do not.
    const passed = ran && (verdict ? verdict.status === 'passed' && (result.exitCode === 0 || tests!.quarantined > 0) : result.exitCode === 0);
    if (passed) {
      log.info({ durationMs, tests: tests && { total: tests.total, failed: tests.failed, flaky: tests.flaky, quarantined: tests.quarantined } }, 'task passed');
      deps.metrics?.attemptEnded({ outcome: 'passed', hwClass: placement.hwClass });
      const success: CommandSuccess = { attempt: input.attempt, hostId: deps.hardware.hostId, exitCode: 0, durationMs, outputTail, compensation, ...(tests ? { tests } : {}), ...(Object.keys(carry).length ? { carry } : {}) };
      // A failed undo goes into the workflow's recovery log: then the workflow writes the record, with it.
      if (input.recordOnPass && deps.results && compensation.every((c) => c.ok)) {
        recordInBackground(input, success, deps.results, log);
        return { ...success, recorded: true };
      }
      return success;
    }
    if (ran && verdict?.status === 'failed' && result.exitCode === 0) {
      const message = `the command exited 0 but its report lists ${verdict.failing.length} failed case(s): ${verdict.failing.slice(0, 5).join(', ')}`;
      return fail(input, { category: 'TEST_EXECUTION_ERROR', kind: 'validation', rule: 'junit-reported-failures' }, { message, exitCode: 0, signal: null, outputTail, durationMs, compensation, tests, carry });
    }
    const what = setupFailed ? `setup step "${setupFailed}"` : 'command';
    const message = result.spawnError
      ? `could not start ${JSON.stringify(spec.command[0])}: ${result.spawnError.message}`
      : result.timedOut
        ? `${what} timed out`
        : result.signal
          ? `${what} killed by ${result.signal}`
          : `${what} exited with code ${result.exitCode}`;
    let classification = classifyFailure(
      { message, outputTail, exitCode: result.exitCode, signal: result.signal, exceptionType: result.spawnError?.code, junitXml },
      deps.rules,
    );
    if (result.timedOut && classification.category === 'UNKNOWN_ERROR') {
      classification = { category: 'NETWORK_TIMEOUT_ERROR', kind: 'transient', rule: 'command-timeout' };
    }
    return fail(input, classification, { message, exitCode: result.exitCode, signal: result.signal, outputTail, durationMs, compensation, tests, carry });
  }

  return { runTestTask };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;

const BACKGROUND_WRITE_ATTEMPTS = 3;

/** The record of a task that passed on its first attempt, written after the activity has answered (retried, logged). */
function recordInBackground(input: RunTestTaskInput, success: CommandSuccess, results: Pick<ResultsActivities, 'recordTaskResult'>, log: Logger): void {
  const ctx = input.recordOnPass!;
  const now = Date.now();
  const result: TestTaskResult = {
    name: input.spec.name,
    workflowId: input.workflowId,
    status: 'passed',
    exitCode: 0,
    durationMs: Math.max(0, now - ctx.startedAtMs),
    hostId: success.hostId,
    hwClass: input.placement.hwClass,
    queue: input.placement.queue,
    outputTail: '',
    attempts: 1,
    placements: [input.placement],
    recoveryLog: [],
    ...(success.tests ? { tests: success.tests } : {}),
  };
  const record = taskRecordFromResult(result, {
    runId: ctx.runId,
    batchId: ctx.batchId,
    labels: ctx.labels,
    startedAt: new Date(ctx.startedAtMs).toISOString(),
    endedAt: new Date(now).toISOString(),
    tests: success.tests,
  });
  setImmediate(async () => {
    for (let attempt = 1; attempt <= BACKGROUND_WRITE_ATTEMPTS; attempt += 1) {
      try {
        await results.recordTaskResult(record);
        return;
      } catch (err) {
        if (attempt === BACKGROUND_WRITE_ATTEMPTS) log.error({ err }, 'could not write the task record to the results store');
        else await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  });
}

/**
 * The JUnit reports the command wrote, if it said where (`junit:` in the spec, or DTF_JUNIT_XML in its env), relative
 * to its cwd: the bounded per-case summary, and the first report's text for the classifier. A report that cannot be
 * read is logged and leaves the outcome to the exit code.
 */
async function readReports(spec: TestTaskSpec, cwd: string, hostId: string, log: Logger): Promise<{ junitXml?: string; tests?: TestsSummary }> {
  const pattern = spec.junit ?? spec.env.DTF_JUNIT_XML;
  if (!pattern) return {};
  try {
    const { tests, files, problems } = await junitSummary(pattern, cwd, { host: hostId, quarantine: spec.quarantinedTests });
    if (problems.length) log.warn({ problems }, 'JUnit report problems');
    const junitXml = files[0] ? await fs.readFile(path.resolve(cwd, files[0]), 'utf8').catch(() => undefined) : undefined;
    return { junitXml, tests };
  } catch (err) {
    log.warn({ err }, `could not read the JUnit report ${pattern}`);
    return {};
  }
}

interface RunOptions {
  killGraceMs: number;
  /** Applied to every output line before it is logged. */
  redaction: OutputRedaction;
  runAs?: { uid: number; gid: number };
  /** Where redacted lines go for the heartbeat's live output. */
  live?: LiveLines;
  /** How the command is started (the worker's spawner; directly when absent). */
  start?: (program: string, args: string[], opts: CommandOptions) => RunningCommand;
}

interface RunResult {
  exitCode: number | null;
  signal: string | null;
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
}

function runCommand(
  command: string[],
  env: Record<string, string>,
  timeoutSeconds: number,
  cwd: string,
  tail: OutputTail,
  log: Logger,
  ctx: Context,
  opts: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const [program, ...args] = command;
    // detached: its own process group, so stopping it stops whatever it started too.
    const child = (opts.start ?? spawnDirect)(program, args, { cwd, env, ...(opts.runAs ? { runAs: opts.runAs } : {}) });
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const stopGroup = () => {
      child.killGroup('SIGTERM');
      setTimeout(() => child.killGroup('SIGKILL'), opts.killGraceMs).unref();
    };
    const stream = (name: 'stdout' | 'stderr') => {
      let partial = '';
      const redactLine = lineRedactor(opts.redaction);
      const emit = (line: string) => {
        const clean = redactLine(line);
        log.info({ stream: name }, clean);
        opts.live?.push(clean);
      };
      child[name].setEncoding('utf8').on('data', (chunk: string) => {
        tail.push(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) emit(line);
      });
      child[name].on('end', () => partial && emit(partial));
    };
    stream('stdout');
    stream('stderr');
    const timer = setTimeout(() => {
      timedOut = true;
      log.warn(`command exceeded its ${timeoutSeconds} s timeout; stopping it`);
      stopGroup();
    }, timeoutSeconds * 1000);
    const onCancel = () => {
      log.warn('cancellation requested; stopping the command');
      stopGroup();
    };
    ctx.cancellationSignal.addEventListener('abort', onCancel);
    let settled = false;
    const settle = (code: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
      resolve({ exitCode: spawnError ? null : code, signal, spawnError, timedOut });
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      if (child.pid === undefined) settle(null, null); // never started: no 'close' is owed
    });
    child.once('close', (code, signal) => settle(code, signal ?? null));
  });
}
