/**
 * runTestTask: on the host that picked the task up, checks the host fits, makes a workspace, runs the command
 * (argv, no shell) with heartbeats and output streaming, cleans up, and on failure classifies it and throws an
 * ApplicationFailure whose type is the category, with the error report and the in-place retry decision.
 */
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Classification, CompiledRule, classifyFailure } from '../domain/classification';
import { ErrorFrequencyTracker, RECURRING_THRESHOLD } from '../domain/error-frequency';
import { GpuInfo, HostHardware, bestComputeCapability } from '../domain/hardware';
import { Placement, hostMeetsRequirement } from '../domain/placement';
import { PolicyTableOverrides, inPlaceDecision, policyFor } from '../domain/policies';
import type { AttemptHeartbeat, CommandSuccess, FailureMeta } from '../domain/task-result';
import type { TestTaskSpec } from '../domain/task-spec';
import { recurringErrorNotification } from '../notifications/events';
import type { Notifier } from '../notifications/notifier';
import { QUARANTINE_CATEGORY, QUARANTINE_RULE, type QuarantineGate } from '../resilience/host-quarantine';
import { ServiceBreakers, ServiceProbeError, ServiceUnavailableError } from '../resilience/service-breakers';
import { AttemptEvent, attemptEventSignal } from '../workflows/messages';
import { buildErrorReport } from './error-report';
import { FAULTS, InjectRates, drawFault } from './fault-injection';
import { CompensationRecord, HostSaga, acquireGpuLease } from './saga';

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
  /** Worker-wide fault injection (`dtf worker --inject`). */
  inject?: InjectRates;
  /** This host's circuit breakers for the services tasks declare (default: one with default thresholds). */
  breakers?: ServiceBreakers;
  /** Host self-quarantine: refuses class-queue tasks while quarantined and learns from every outcome. */
  gate?: QuarantineGate;
  /** Where recurring errors are announced. */
  notifier?: Notifier;
}

export interface RunTestTaskInput {
  spec: TestTaskSpec;
  placement: Placement;
  placementIndex: number;
  workflowId: string;
}

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

export function createTaskActivities(deps: TaskActivityDeps) {
  const tracker = new ErrorFrequencyTracker();
  const gpuMemoryGb = Math.max(0, ...deps.hardware.gpus.map((g) => g.memoryGb));
  const simulatedGpus: GpuInfo[] = deps.hardware.gpus.filter((g) => g.simulated);
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 1_000;
  const breakers = deps.breakers ?? new ServiceBreakers();

  /** Tells the workflow about an attempt it cannot see (Temporal's in-place retries); best effort, never fails the attempt. */
  async function recordOnWorkflow(input: RunTestTaskInput, event: Omit<AttemptEvent, 'placement' | 'attempt' | 'hostId' | 'queue'>): Promise<void> {
    const { info } = Context.current();
    await deps.client.workflow
      .getHandle(input.workflowId)
      .signal(attemptEventSignal, { placement: input.placementIndex, attempt: info.attempt, hostId: deps.hardware.hostId, queue: info.taskQueue, ...event })
      .catch((err: unknown) => deps.logger.warn({ err, action: event.action }, 'could not record the attempt on the workflow'));
  }

  async function fail(
    input: RunTestTaskInput,
    classification: Classification,
    observed: {
      message: string;
      exitCode: number | null;
      signal: string | null;
      outputTail: string;
      durationMs: number;
      compensation?: CompensationRecord[];
      /** No retry before this (an open breaker's time until half-open). */
      minDelayMs?: number;
    },
  ): Promise<never> {
    const ctx = Context.current();
    const { attempt } = ctx.info;
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
        attempt,
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
    };
    deps.logger.warn(
      { task: input.spec.name, category: classification.category, kind: classification.kind, rule: classification.rule, attempt, retryInPlace: decision.retryInPlace, delayMs: decision.delayMs },
      `task failed: ${report.message}`,
    );
    if (decision.retryInPlace) {
      // Temporal retries in place without telling the workflow; tell it, so the recovery log misses nothing.
      await recordOnWorkflow(input, {
        category: classification.category,
        kind: classification.kind,
        rule: classification.rule,
        action: 'retry-in-place',
        delayMs: decision.delayMs,
        reason: report.message,
      });
    }
    throw ApplicationFailure.create({
      type: classification.category,
      message: report.message,
      details: [report, meta],
      nonRetryable: !decision.retryInPlace,
      nextRetryDelay: decision.retryInPlace ? decision.delayMs : undefined,
    });
  }

  /** Probes the services the task declares, each through this host's breaker; a failure becomes the attempt's. */
  async function checkServices(input: RunTestTaskInput): Promise<void> {
    for (const service of input.spec.services) {
      try {
        await breakers.checkService(service.name, service.url, service.timeoutMs);
      } catch (err) {
        const observed = { message: err instanceof Error ? err.message : String(err), exitCode: null, signal: null, outputTail: '', durationMs: 0 };
        if (err instanceof ServiceUnavailableError) {
          return fail(input, { category: err.category, kind: 'transient', rule: 'service-breaker-open' }, { ...observed, minDelayMs: err.retryAfterMs });
        }
        if (err instanceof ServiceProbeError) return fail(input, { category: err.category, kind: 'transient', rule: 'service-probe-failed' }, observed);
        throw err;
      }
    }
  }

  async function runTestTask(input: RunTestTaskInput): Promise<CommandSuccess> {
    if (!deps.gate) return runAttempt(input);
    const { info } = Context.current();
    try {
      return await deps.gate.guard({ taskQueue: info.taskQueue, attempt: info.attempt, pinned: input.placement.pinned }, () => runAttempt(input));
    } catch (err) {
      const meta = err instanceof ApplicationFailure ? (err.details?.[1] as FailureMeta | undefined) : undefined;
      if (meta?.rule === QUARANTINE_RULE && meta.retryInPlace) {
        // Handed back to the queue by the gate: say so, or the workflow would take the silence for a lost attempt.
        await recordOnWorkflow(input, { category: QUARANTINE_CATEGORY, kind: 'resource', rule: QUARANTINE_RULE, action: 'retry-in-place', delayMs: meta.delayMs, reason: (err as Error).message });
      }
      throw err;
    }
  }

  async function runAttempt(input: RunTestTaskInput): Promise<CommandSuccess> {
    const ctx = Context.current();
    const { spec, placement } = input;
    const { attempt } = ctx.info;
    const log = deps.logger.child({ task: spec.name, workflowId: input.workflowId, attempt });
    const started = Date.now();

    if (attempt > 1) {
      const previous = ctx.info.heartbeatDetails as AttemptHeartbeat | undefined;
      await recordOnWorkflow(input, {
        action: 'attempt-started',
        previousHostId: previous?.hostId,
        reason: previous ? `attempt ${attempt} on ${deps.hardware.hostId}; attempt ${attempt - 1} ran on ${previous.hostId}` : `attempt ${attempt} on ${deps.hardware.hostId}`,
      });
    }

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

    await checkServices(input);

    const need = Math.max(spec.hardware.minGpuMemoryGb ?? 0, placement.tierGb ?? 0) * 0.95;
    const gpuCandidates = () =>
      deps.hardware.gpus
        .map((g, index) => ({ g, index }))
        .filter(({ g }) => g.memoryGb >= need)
        .sort((a, b) => a.g.memoryGb - b.g.memoryGb) // smallest GPU that fits: keep big ones for big tasks
        .map(({ index }) => index);
    const wsName = workspaceName(input.workflowId, input.placementIndex, attempt);
    const workspace = path.join(deps.workRoot, wsName);
    const cwd = spec.cwd ? path.resolve(workspace, spec.cwd) : workspace;
    const tail = new OutputTail();
    const saga = new HostSaga(deps.workRoot, wsName, log);
    const env: Record<string, string> = {
      DTF_TASK: spec.name,
      DTF_HOST: deps.hardware.hostId,
      DTF_WORKSPACE: workspace,
      DTF_ATTEMPT: String(attempt),
      DTF_GPU_MEMORY_GB: String(gpuMemoryGb),
    };
    const run = (command: string[], timeoutSeconds: number) =>
      runCommand(command, { ...spec.env, ...env }, timeoutSeconds, cwd, tail, log, ctx, {
        heartbeat: () =>
          ctx.heartbeat({ attempt, hostId: deps.hardware.hostId, gpuMemoryGb, elapsedMs: Date.now() - started } satisfies AttemptHeartbeat),
        heartbeatIntervalMs,
        killGraceMs: deps.killGraceMs ?? 2_000,
      });
    let result: RunResult;
    let setupFailed: string | undefined;
    let junitXml: string | undefined;
    let compensation: CompensationRecord[] = [];
    try {
      await fs.mkdir(workspace, { recursive: true });
      await saga.register({ kind: 'workspace', path: workspace });
      if (placement.hwClass === 'cuda') {
        const lease = await acquireGpuLease(deps.workRoot, gpuCandidates(), input.workflowId);
        if (!lease) {
          result = { exitCode: null, signal: null, timedOut: false, busy: `every GPU of ${deps.hardware.hostId} that fits is leased to another task` };
          throw new LeaseBusy();
        }
        await saga.register({ kind: 'gpu-lease', file: lease.file, gpu: lease.gpu });
        env.CUDA_VISIBLE_DEVICES = String(lease.gpu);
      }
      for (const step of spec.setup) {
        result = await run(step.command, step.timeoutSeconds);
        if (result.exitCode !== 0 || result.timedOut || ctx.cancellationSignal.aborted) {
          setupFailed = step.name;
          break;
        }
        if (step.teardown) {
          await saga.register({ kind: 'teardown', name: step.name, command: step.teardown, cwd, env: { ...spec.env, ...env }, timeoutSeconds: step.timeoutSeconds });
        }
      }
      if (!setupFailed) {
        const fault = drawFault({ ...deps.inject, ...spec.inject });
        if (fault) log.warn({ fault }, `FAULT INJECTION: this attempt runs a real ${fault} instead of the task's command`);
        result = await run(fault ? FAULTS[fault]() : spec.command, spec.timeoutSeconds);
      }
      junitXml = await readJunit(spec, cwd);
    } catch (err) {
      if (!(err instanceof LeaseBusy)) throw err;
    } finally {
      compensation = await saga.compensate();
    }
    result = result!;
    const durationMs = Date.now() - started;
    if (ctx.cancellationSignal.aborted) {
      log.info('task cancelled; command stopped');
      throw new CancelledFailure(`cancelled on ${deps.hardware.hostId}`);
    }
    if (result.exitCode === 0 && !result.timedOut) {
      log.info({ durationMs }, 'task passed');
      return { attempt, hostId: deps.hardware.hostId, exitCode: 0, durationMs, outputTail: tail.toString(), compensation };
    }
    const outputTail = tail.toString();
    if (result.busy) {
      return fail(input, { category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'gpu-lease-busy' }, {
        message: result.busy,
        exitCode: null,
        signal: null,
        outputTail,
        durationMs,
        compensation,
      });
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
      {
        message,
        outputTail,
        exitCode: result.exitCode,
        signal: result.signal,
        exceptionType: result.spawnError?.code,
        junitXml,
      },
      deps.rules,
    );
    if (result.timedOut && classification.category === 'UNKNOWN_ERROR') {
      classification = { category: 'NETWORK_TIMEOUT_ERROR', kind: 'transient', rule: 'command-timeout' };
    }
    return fail(input, classification, { message, exitCode: result.exitCode, signal: result.signal, outputTail, durationMs, compensation });
  }

  return { runTestTask };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;

/** A JUnit report the command wrote, if it said where (DTF_JUNIT_XML in its env, relative to its cwd). */
async function readJunit(spec: TestTaskSpec, cwd: string): Promise<string | undefined> {
  const file = spec.env.DTF_JUNIT_XML;
  if (!file) return undefined;
  return fs.readFile(path.resolve(cwd, file), 'utf8').catch(() => undefined);
}

interface RunOptions {
  heartbeat: () => void;
  heartbeatIntervalMs: number;
  killGraceMs: number;
}

interface RunResult {
  exitCode: number | null;
  signal: string | null;
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
  /** Set when the attempt could not start for want of a free GPU on this host. */
  busy?: string;
}

class LeaseBusy extends Error {}

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
    const child = spawn(program, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const stopGroup = () => {
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          /* already gone */
        }
      };
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), opts.killGraceMs).unref();
    };
    const stream = (name: 'stdout' | 'stderr') => {
      let partial = '';
      child[name]!.setEncoding('utf8').on('data', (chunk: string) => {
        tail.push(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) log.info({ stream: name }, line);
      });
      child[name]!.on('end', () => partial && log.info({ stream: name }, partial));
    };
    stream('stdout');
    stream('stderr');
    // No heartbeat right away: most commands are short, and an extra RPC each would cost throughput.
    const beat = setInterval(opts.heartbeat, opts.heartbeatIntervalMs);
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
      clearInterval(beat);
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
