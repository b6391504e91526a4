/** The test task spec: the one boundary type a user writes (YAML or JSON), validated with zod. */
import { z } from 'zod';
import { CategoryName, InjectRates } from './categories';
import { HardwareClass, HostId } from './hardware';
import { DeclaredService } from './services';
import { checkUniqueNames } from './unique-names';

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** Per-category overrides of the deployment's retry policy (see policies.ts for the fields). */
export const PolicyOverride = z
  .object({
    maxAttemptsInPlace: z.number().int().min(1).max(100).optional(),
    initialDelayMs: z.number().int().min(0).optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maxDelayMs: z.number().int().min(0).optional(),
    jitter: z.number().min(0).max(1).optional(),
  })
  .strict();
export type PolicyOverride = z.infer<typeof PolicyOverride>;

export const HardwareRequirement = z
  .object({
    /** Where the task must run: `cuda` (a GPU host) or `cpu` (any host). */
    class: HardwareClass.default('cpu'),
    /** Smallest GPU memory the task needs, in GB (cuda only). */
    minGpuMemoryGb: z.number().positive().max(1024).optional(),
    /** Smallest CUDA compute capability, e.g. 8.0 for bf16 (cuda only). */
    minComputeCapability: z.number().min(1).max(20).optional(),
    /** GPUs the task needs on one host (cuda only); it gets CUDA_VISIBLE_DEVICES for exactly these. */
    gpus: z.number().int().min(1).max(64).default(1),
    /** Classes the task may move to when no host of its own class can take it, in order (e.g. ["cpu"]). */
    fallback: z.array(HardwareClass).default([]),
  })
  .strict()
  .superRefine((hw, ctx) => {
    if (hw.class === 'cpu' && (hw.minGpuMemoryGb !== undefined || hw.minComputeCapability !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'minGpuMemoryGb/minComputeCapability need class "cuda"', path: ['class'] });
    }
    if (hw.class === 'cpu' && hw.gpus !== 1) {
      ctx.addIssue({ code: 'custom', message: 'gpus needs class "cuda"', path: ['gpus'] });
    }
    if (hw.fallback.includes(hw.class)) {
      ctx.addIssue({ code: 'custom', message: `fallback must not repeat the task's own class "${hw.class}"`, path: ['fallback'] });
    }
  });
export type HardwareRequirement = z.infer<typeof HardwareRequirement>;

export const TestTaskSpec = z
  .object({
    /** A name unique within its file; part of the workflow id. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected 1-100 letters, digits, ".", "_" or "-"'),
    /** The test command as an argv array, run without a shell. */
    command: z.array(z.string()).min(1, 'expected at least the program to run, e.g. ["pytest", "-q"]'),
    /** Working directory on the host; relative paths resolve against the task's workspace. Default: the workspace. */
    cwd: z.string().min(1).optional(),
    env: z.record(EnvName, z.string()).default({}),
    /**
     * Secrets by reference: TASK_VAR → the name of a variable in the worker's environment, whose value the command
     * gets as TASK_VAR. The value never enters the spec, the workflow history, results, reports or logs; output that
     * contains it is redacted as `[redacted:TASK_VAR]`.
     */
    secretEnv: z.record(EnvName, EnvName).default({}),
    /** Wall-clock limit for one run of the command. */
    timeoutSeconds: z.number().positive().max(7 * 24 * 3600).default(600),
    /**
     * How long the task may wait for *some live eligible host to exist* before its fallback rules apply. Time spent
     * behind busy eligible hosts does not count: a backlog is waiting, not failing.
     */
    placementTimeoutSeconds: z.number().positive().max(7 * 24 * 3600).default(60),
    /** Total time the task may wait on queues (busy hosts included) before it ends as `expired`; no default. */
    queueTimeoutSeconds: z.number().positive().max(30 * 24 * 3600).optional(),
    hardware: HardwareRequirement.default({}),
    /** Pin the task to one host (its host queue), e.g. to reproduce a host-specific failure. */
    host: HostId.optional(),
    labels: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a label key of letters, digits, ".", "_" or "-"'), z.string()).default({}),
    /** What this task is expected to end as; `dtf submit` and the demo report tasks that end otherwise. */
    expect: z.enum(['passed', 'failed', 'error', 'dead_lettered']).default('passed'),
    /** How long a task with no option left waits in the dead letter queue for a redrive; 0 ends it as `error` at once. */
    deadLetterRetentionSeconds: z.number().int().min(0).max(365 * 24 * 3600).default(7 * 24 * 3600),
    /** Steps run in the workspace before the command; each one's `teardown` is registered as its undo once it succeeds. */
    setup: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits, ".", "_" or "-"'),
            command: z.array(z.string()).min(1, 'expected at least the program to run'),
            teardown: z.array(z.string()).min(1, 'expected at least the program to run').optional(),
            timeoutSeconds: z.number().positive().max(24 * 3600).default(300),
          })
          .strict(),
      )
      .default([]),
    /**
     * External services the task needs (artifact store, dataset or model mirror): each is probed through this host's
     * circuit breaker for it before the command runs, so an outage fails fast instead of failing every test.
     */
    services: z
      .array(DeclaredService)
      .default([])
      .superRefine((services, ctx) => {
        checkUniqueNames(
          ctx,
          services.map((s) => s.name),
          { path: (i) => [i, 'name'], repeated: (name) => `duplicate service name "${name}"` },
        );
      }),
    /**
     * The JUnit XML report(s) the command writes, a path or glob relative to its working directory (pytest
     * `--junitxml`, jest-junit, Surefire, go-junit-report, cargo2junit): the result then carries per-case results, and
     * failed cases fail the task whatever the exit code says. `DTF_JUNIT_XML` in `env` still works.
     */
    junit: z.string().min(1).max(500).optional(),
    /**
     * Files to keep from every attempt, passed or failed (logs, reports, model outputs): globs relative to the
     * command's working directory, copied to the artifact store before the workspace is removed.
     */
    artifacts: z
      .array(
        z
          .string()
          .min(1)
          .max(500)
          .refine((g) => !g.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(g), 'expected a glob relative to the working directory, not an absolute path')
          .refine((g) => !g.split(/[\\/]/).includes('..'), 'expected a glob inside the working directory (no "..")'),
      )
      .max(100)
      .default([]),
    /**
     * After a test failure, run the task again up to this many times, the first rerun on another host of its class
     * where one exists: a case that failed and then passed is flaky, and the task passes with it named.
     */
    flakyReruns: z.number().int().min(0).max(10).default(0),
    /** Test case ids (`classname::name`, `*` matches anything) whose failures are counted but do not fail the task. */
    quarantinedTests: z.array(z.string().min(1).max(300)).max(500).default([]),
    /** Fault injection for this task: CATEGORY → probability per attempt (chaos testing; off by default). */
    inject: InjectRates.default({}),
    /** Per-category retry overrides for this task. */
    retry: z.record(CategoryName, PolicyOverride).default({}),
  })
  .strict();
export type TestTaskSpec = z.infer<typeof TestTaskSpec>;
export type TestTaskSpecInput = z.input<typeof TestTaskSpec>;

/** Fields of a batch's `defaults` are merged under each task's own. */
export const TaskFile = z.union([
  z
    .object({
      tasks: z.array(z.record(z.unknown())).min(1, 'expected at least one task'),
      defaults: z.record(z.unknown()).default({}),
    })
    .strict(),
  z.array(z.record(z.unknown())).min(1, 'expected at least one task'),
  z.record(z.unknown()),
]);

export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`${source}: invalid task spec\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

export function formatZodIssues(error: z.ZodError, prefix: (string | number)[] = []): string[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path]
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`))
      .join('');
    const received = 'received' in issue && issue.code === 'invalid_type' ? ` (got ${String(issue.received)})` : '';
    return `${path || '(root)'}: ${issue.message}${received}`;
  });
}

export interface ParsedTaskFile {
  tasks: TestTaskSpec[];
}

/** Validates a whole task file (already parsed from YAML/JSON). Throws SpecError naming every bad field; returns nothing partial. */
export function parseTaskFile(data: unknown, source = 'task file'): ParsedTaskFile {
  const shape = TaskFile.safeParse(data);
  if (!shape.success) throw new SpecError(source, formatZodIssues(shape.error));
  const file = shape.data;
  let raw: Record<string, unknown>[];
  let defaults: Record<string, unknown> = {};
  let prefix: (i: number) => (string | number)[];
  if (Array.isArray(file)) {
    raw = file;
    prefix = (i) => [i];
  } else if ('tasks' in file && Array.isArray(file.tasks)) {
    const batch = file as { tasks: Record<string, unknown>[]; defaults: Record<string, unknown> };
    raw = batch.tasks;
    defaults = batch.defaults;
    prefix = (i) => ['tasks', i];
  } else {
    raw = [file as Record<string, unknown>];
    prefix = () => [];
  }
  const issues: string[] = [];
  const tasks: TestTaskSpec[] = [];
  raw.forEach((task, i) => {
    const merged = mergeDefaults(defaults, task);
    const parsed = TestTaskSpec.safeParse(merged);
    if (parsed.success) tasks.push(parsed.data);
    else issues.push(...formatZodIssues(parsed.error, prefix(i)));
  });
  const seen = new Set<string>();
  tasks.forEach((t) => {
    if (seen.has(t.name)) issues.push(`tasks: duplicate task name "${t.name}" (names must be unique within a file)`);
    seen.add(t.name);
  });
  if (issues.length) throw new SpecError(source, issues);
  return { tasks };
}

function mergeDefaults(defaults: Record<string, unknown>, task: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...defaults, ...task };
  for (const key of ['env', 'labels', 'hardware', 'retry']) {
    const d = defaults[key];
    const t = task[key];
    if (isPlainObject(d) && isPlainObject(t)) merged[key] = { ...d, ...t };
  }
  return merged;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
