/** The start-workflow script: validates a task file whole, starts one workflow per task, optionally waits and reports. */
import { Client, WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { WORKFLOW_TASK_QUEUE } from '../domain/hardware';
import { DtfHardwareClass, DtfLabels, DtfQueue, DtfRunId, DtfStatus } from '../domain/search-attributes';
import { initialPlacement } from '../domain/placement';
import type { TestTaskInput, TestTaskResult } from '../domain/task-result';
import { isSensitiveEnvName } from '../domain/redact';
import { ParsedTaskFile, SpecError, TestTaskSpec, parseTaskFile } from '../domain/task-spec';
import type { testTaskWorkflow } from '../workflows';
import { progressQuery } from '../workflows/messages';

export function readTaskFile(file: string): ParsedTaskFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError(file, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new SpecError(file, [`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseTaskFile(substituteSpecDir(data, path.dirname(path.resolve(file))), file);
}

/**
 * `env` entries whose name says secret (HF_TOKEN, DB_PASSWORD, *_API_KEY, …): their values would be stored in clear in
 * the workflow history, so `dtf submit` refuses them unless told otherwise. Empty values are no secret.
 */
export function secretLookingEnv(tasks: readonly TestTaskSpec[]): { task: string; name: string }[] {
  return tasks.flatMap((t) => Object.entries(t.env).filter(([name, value]) => value !== '' && isSensitiveEnvName(name)).map(([name]) => ({ task: t.name, name })));
}

export function secretLookingEnvMessage(file: string, found: readonly { task: string; name: string }[]): string {
  const lines = found.slice(0, 20).map((f) => `  - task "${f.task}": env.${f.name}`);
  if (found.length > 20) lines.push(`  - … and ${found.length - 20} more`);
  const example = found[0].name;
  return [
    `${file}: env values that look like secrets would be stored in clear in the workflow history:`,
    ...lines,
    `pass them by reference instead: secretEnv: {${example}: WORKER_VAR} gives the command the worker's own WORKER_VAR as ${example}`,
    '(--allow-secret-env submits them as they are)',
  ].join('\n');
}

/** `{{specDir}}` in any string of a task file stands for the file's own directory, so suites can ship their scripts. */
export function substituteSpecDir(data: unknown, dir: string): unknown {
  if (typeof data === 'string') return data.split('{{specDir}}').join(dir);
  if (Array.isArray(data)) return data.map((d) => substituteSpecDir(d, dir));
  if (data && typeof data === 'object') {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, substituteSpecDir(v, dir)]));
  }
  return data;
}

export function newBatchId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export function workflowIdFor(spec: TestTaskSpec, batchId: string): string {
  return `dtf-${spec.name}-${batchId}`;
}

export async function startTasks(
  client: Client,
  tasks: TestTaskSpec[],
  batchId: string,
): Promise<WorkflowHandle<typeof testTaskWorkflow>[]> {
  return Promise.all(
    tasks.map((spec) => {
      const init = initialPlacement(spec);
      const queue = init.ok ? init.placement.queue : undefined;
      return client.workflow.start<typeof testTaskWorkflow>('testTaskWorkflow', {
        taskQueue: WORKFLOW_TASK_QUEUE,
        workflowId: workflowIdFor(spec, batchId),
        args: [{ spec, batchId, ...(queue ? { startAttributes: true as const } : {}) } satisfies TestTaskInput],
        typedSearchAttributes: [
          { key: DtfStatus, value: 'queued' },
          { key: DtfHardwareClass, value: spec.hardware.class },
          { key: DtfRunId, value: batchId },
          ...(queue ? [{ key: DtfQueue, value: queue }] : []),
          { key: DtfLabels, value: Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`) },
        ],
        staticSummary: summaryOf(spec),
        // Activities inherit it: a batch behind a large one still gets its share of each queue's hosts.
        priority: { fairnessKey: batchId },
      });
    }),
  );
}

/** The one line the Web UI shows for a task: what it runs and what it needs. */
export function summaryOf(spec: TestTaskSpec): string {
  const hw = spec.hardware;
  const need = hw.class === 'cuda' ? `cuda ${hw.gpus}×${hw.minGpuMemoryGb ?? 0} GB${hw.minComputeCapability ? ` cc≥${hw.minComputeCapability}` : ''}` : 'cpu';
  return `${spec.name}: ${spec.command.join(' ')} [${need}${spec.host ? ` on ${spec.host}` : ''}]`.slice(0, 200);
}

export interface WaitOptions {
  onResult?: (result: TestTaskResult, done: number, total: number) => void;
  onTick?: (done: number, total: number) => void;
  tickMs?: number;
  /** How often the batch's settled tasks are listed (one visibility query per page of up to 1000 tasks). */
  pollMs?: number;
}

/** Visibility statuses of a run that has ended for good (a run that continued as new is followed by its next run). */
const CLOSED = `ExecutionStatus IN ('Completed', 'Failed', 'Terminated', 'Canceled', 'TimedOut')`;
const SETTLED_QUERY = `(${CLOSED} OR (ExecutionStatus = 'Running' AND DtfStatus = 'dead_lettered'))`;
const ID_CHUNK = 100;
/** Consecutive failed looks (about a minute at the default poll) before waiting gives up. */
const MAX_FAILED_LOOKS = 60;

/**
 * Waits for every task through visibility: every `pollMs` one list query finds the tasks of the batch that have
 * settled (ended, or parked in the dead letter queue), and only those are read (result or parked result). The cost
 * grows with the number of tasks, not with how long they wait. A workflow that itself failed becomes an `error`
 * row, never a lost one.
 */
export async function waitForTasks(
  handles: WorkflowHandle<typeof testTaskWorkflow>[],
  specs: TestTaskSpec[],
  opts: WaitOptions = {},
): Promise<TestTaskResult[]> {
  const results: (TestTaskResult | undefined)[] = handles.map(() => undefined);
  const indexOf = new Map(handles.map((h, i) => [h.workflowId, i]));
  let done = 0;
  const tick = opts.onTick ? setInterval(() => opts.onTick!(done, handles.length), opts.tickMs ?? 5_000) : undefined;
  const pollMs = opts.pollMs ?? 1_000;
  try {
    let failedLooks = 0;
    while (done < handles.length) {
      let settled: Awaited<ReturnType<typeof listSettled>> = [];
      try {
        settled = await listSettled(handles, indexOf, results);
        failedLooks = 0;
      } catch (err) {
        // The server may be restarting: look again, and give up only if it stays unreachable for a while.
        if (++failedLooks >= MAX_FAILED_LOOKS) throw err;
      }
      await Promise.all(
        settled.map(async ({ index: i, closed }) => {
          const result = await readSettled(handles[i], specs[i], closed);
          if (!result || results[i]) return;
          results[i] = result;
          done += 1;
          opts.onResult?.(result, done, handles.length);
        }),
      );
      if (done < handles.length) await new Promise((r) => setTimeout(r, pollMs));
    }
    return results as TestTaskResult[];
  } finally {
    if (tick) clearInterval(tick);
  }
}

/** Indexes of not-yet-read tasks that visibility lists as settled: by batch when they share one, else by id. */
async function listSettled(
  handles: WorkflowHandle<typeof testTaskWorkflow>[],
  indexOf: Map<string, number>,
  results: (TestTaskResult | undefined)[],
): Promise<{ index: number; closed: boolean }[]> {
  const open = handles.filter((_, i) => !results[i]);
  const batches = new Set(open.map((h) => batchOf(h.workflowId)));
  const queries: string[] = [];
  if (batches.size === 1 && open.length > ID_CHUNK && [...batches][0]) {
    queries.push(`DtfRunId = '${[...batches][0]}' AND ${SETTLED_QUERY}`);
  } else {
    for (let i = 0; i < open.length; i += ID_CHUNK) {
      const ids = open.slice(i, i + ID_CHUNK).map((h) => `'${h.workflowId.replace(/'/g, '')}'`);
      queries.push(`WorkflowId IN (${ids.join(', ')}) AND ${SETTLED_QUERY}`);
    }
  }
  const found = new Map<number, boolean>();
  const client = handles[0].client;
  for (const query of queries) {
    for await (const wf of client.list({ query, pageSize: 1000 })) {
      const i = indexOf.get(wf.workflowId);
      if (i !== undefined && !results[i]) found.set(i, wf.status.name !== 'RUNNING');
    }
  }
  return [...found].map(([index, closed]) => ({ index, closed }));
}

/** `dtf-<name>-<batch>`: the batch id is what follows the last dash-separated stamp; unknown → undefined. */
function batchOf(workflowId: string): string | undefined {
  const m = /-(\d{14}-[a-z0-9]{4})$/.exec(workflowId);
  return m?.[1];
}

/** The settled task's result: its workflow's result, or its parked result while it waits in the dead letter queue. */
async function readSettled(handle: WorkflowHandle<typeof testTaskWorkflow>, spec: TestTaskSpec, closed: boolean): Promise<TestTaskResult | undefined> {
  try {
    if (!closed) {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      return progress?.parked;
    }
    return (await handle.result()) as TestTaskResult;
  } catch (err) {
    // Only a workflow that itself failed (or was terminated, timed out) is a final `error` row; anything else — the
    // server restarting, a connection dropped — is read again at the next look.
    if (!(err instanceof WorkflowFailedError)) return undefined;
    return {
      name: spec.name,
      workflowId: handle.workflowId,
      status: 'error',
      exitCode: null,
      durationMs: 0,
      hwClass: spec.hardware.class,
      queue: '',
      outputTail: '',
      attempts: 0,
      placements: [],
      recoveryLog: [],
      reason: `workflow did not complete: ${(err as Error).message}`,
    };
  }
}

/** One task's settled result (see waitForTasks). */
export async function settledResult(handle: WorkflowHandle<typeof testTaskWorkflow>, pollMs = 500): Promise<TestTaskResult> {
  const spec = { name: handle.workflowId, hardware: { class: 'cpu' } } as TestTaskSpec;
  return (await waitForTasks([handle], [spec], { pollMs }))[0];
}

/** A task ended as its spec expects. */
export function asExpected(result: TestTaskResult, spec: TestTaskSpec): boolean {
  return result.status === spec.expect;
}

/**
 * The recovery log in one short cell: undos that went well are left out (every failed attempt has them), repeats
 * are counted (`retry-in-place×4`), and a long story is cut with the count of steps left out.
 */
export function recoverySummary(log: TestTaskResult['recoveryLog'], maxChars = 90): string {
  const steps = log
    .filter((e) => e.action !== 'attempt-started' && !(e.action === 'compensate' && !e.reason.startsWith('undo failed')))
    .map((e) => (e.to ? `${e.action}→${e.to}` : e.action));
  const runs: { step: string; n: number }[] = [];
  for (const step of steps) {
    const last = runs.at(-1);
    if (last?.step === step) last.n += 1;
    else runs.push({ step, n: 1 });
  }
  const cells = runs.map((r) => (r.n > 1 ? `${r.step}×${r.n}` : r.step));
  let text = '';
  for (let i = 0; i < cells.length; i += 1) {
    const next = text ? `${text}, ${cells[i]}` : cells[i];
    // Keep the end of the story (how it ended) when cutting: the first steps, then "…", then the last one.
    if (next.length > maxChars && i < cells.length - 1) return `${text}, … (${cells.length - i - 1} more), ${cells.at(-1)}`;
    text = next;
  }
  return text;
}

export function formatTable(rows: TestTaskResult[], specs?: TestTaskSpec[]): string {
  const header = ['TASK', 'STATUS', 'EXIT', 'HOST', 'QUEUE', 'ATTEMPTS', 'SECONDS', 'RECOVERY'];
  if (specs) header.push('EXPECTED');
  const body = rows.map((r, i) => {
    const recovery = recoverySummary(r.recoveryLog);
    const row = [
      r.name,
      r.status,
      r.exitCode === null ? '-' : String(r.exitCode),
      r.hostId ?? '-',
      r.queue || '-',
      String(r.attempts),
      (r.durationMs / 1000).toFixed(1),
      recovery || '-',
    ];
    if (specs) row.push(specs[i] ? (asExpected(r, specs[i]) ? `${specs[i].expect} ✓` : `${specs[i].expect} ✗`) : '-');
    return row;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
