/** The start-workflow script: validates a task file whole, starts one workflow per task, optionally waits and reports. */
import { Client, WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { WORKFLOW_TASK_QUEUE } from '../domain/hardware';
import { DtfHardwareClass, DtfLabels, DtfRunId, DtfStatus } from '../domain/search-attributes';
import type { TestTaskInput, TestTaskResult } from '../domain/task-result';
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
    tasks.map((spec) =>
      client.workflow.start<typeof testTaskWorkflow>('testTaskWorkflow', {
        taskQueue: WORKFLOW_TASK_QUEUE,
        workflowId: workflowIdFor(spec, batchId),
        args: [{ spec, batchId } satisfies TestTaskInput],
        typedSearchAttributes: [
          { key: DtfStatus, value: 'queued' },
          { key: DtfHardwareClass, value: spec.hardware.class },
          { key: DtfRunId, value: batchId },
          { key: DtfLabels, value: Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`) },
        ],
      }),
    ),
  );
}

export interface WaitOptions {
  onResult?: (result: TestTaskResult, done: number, total: number) => void;
  onTick?: (done: number, total: number) => void;
  tickMs?: number;
}

/** Waits for every task; a workflow that itself failed becomes an `error` row, never a lost one. */
export async function waitForTasks(
  handles: WorkflowHandle<typeof testTaskWorkflow>[],
  specs: TestTaskSpec[],
  opts: WaitOptions = {},
): Promise<TestTaskResult[]> {
  let done = 0;
  const tick = opts.onTick ? setInterval(() => opts.onTick!(done, handles.length), opts.tickMs ?? 5_000) : undefined;
  try {
    return await Promise.all(
      handles.map(async (h, i) => {
        let result: TestTaskResult;
        try {
          result = await settledResult(h);
        } catch (err) {
          result = {
            name: specs[i].name,
            workflowId: h.workflowId,
            status: 'error',
            exitCode: null,
            durationMs: 0,
            hwClass: specs[i].hardware.class,
            queue: '',
            outputTail: '',
            attempts: 0,
            placements: [],
            recoveryLog: [],
            reason: `workflow did not complete: ${(err as Error).message}`,
          };
        }
        done += 1;
        opts.onResult?.(result, done, handles.length);
        return result;
      }),
    );
  } finally {
    if (tick) clearInterval(tick);
  }
}

/**
 * The task's result once it has settled: its workflow's result, or — when it waits in the dead letter queue —
 * the parked result (the workflow stays open for a redrive).
 */
export async function settledResult(handle: WorkflowHandle<typeof testTaskWorkflow>, pollMs = 500): Promise<TestTaskResult> {
  // Polls rather than long-polling result(): a parked workflow never completes, and a pending long poll
  // would outlive the connection of whoever asked.
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') return (await handle.result()) as TestTaskResult;
    if (desc.typedSearchAttributes.get(DtfStatus) === 'dead_lettered') {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress?.parked) return progress.parked;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A task ended as its spec expects. */
export function asExpected(result: TestTaskResult, spec: TestTaskSpec): boolean {
  return result.status === spec.expect;
}

export function formatTable(rows: TestTaskResult[], specs?: TestTaskSpec[]): string {
  const header = ['TASK', 'STATUS', 'EXIT', 'HOST', 'QUEUE', 'ATTEMPTS', 'SECONDS', 'RECOVERY'];
  if (specs) header.push('EXPECTED');
  const body = rows.map((r, i) => {
    const recovery = r.recoveryLog
      .filter((e) => e.action !== 'attempt-started')
      .map((e) => (e.to ? `${e.action}→${e.to}` : e.action))
      .join(', ');
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
