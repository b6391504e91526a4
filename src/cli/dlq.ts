/** `dtf dlq`: the dead letter queue is the set of open task workflows whose DtfStatus is dead_lettered. */
import { Client } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { DtfStatus } from '../domain/search-attributes';
import type { TestTaskResult } from '../domain/task-result';
import { SpecError } from '../domain/task-spec';
import { discardUpdate, progressQuery, redriveUpdate } from '../workflows/messages';
import { readTaskFile } from './submit';

export const DLQ_BASE_QUERY = `WorkflowType = 'testTaskWorkflow' AND ExecutionStatus = 'Running' AND DtfStatus = 'dead_lettered'`;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`--older-than "${text}": expected a number and a unit, e.g. 30m, 6h, 2d`);
  return Number(m[1]) * UNITS[m[2]];
}

export interface DlqFilter {
  category?: string;
  hardware?: string;
  label?: string;
  olderThanMs?: number;
  query?: string;
}

const quote = (v: string) => `'${v.replace(/'/g, '')}'`;

export function dlqQuery(f: DlqFilter, now = new Date()): string {
  const clauses = [DLQ_BASE_QUERY];
  if (f.category) clauses.push(`DtfErrorCategory = ${quote(f.category)}`);
  if (f.hardware) clauses.push(`DtfHardwareClass = ${quote(f.hardware)}`);
  if (f.label) clauses.push(`DtfLabels = ${quote(f.label)}`);
  if (f.olderThanMs !== undefined) clauses.push(`DtfParkedAt < '${new Date(now.getTime() - f.olderThanMs).toISOString()}'`);
  if (f.query) clauses.push(`(${f.query})`);
  return clauses.join(' AND ');
}

async function listIds(client: Client, query: string, limit = 1000): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query })) {
    ids.push(wf.workflowId);
    if (ids.length >= limit) break;
  }
  return ids;
}

async function parkedResult(client: Client, id: string): Promise<TestTaskResult> {
  const handle = client.workflow.getHandle(id);
  const desc = await handle.describe();
  if (desc.typedSearchAttributes.get(DtfStatus) !== 'dead_lettered' || desc.status.name !== 'RUNNING') {
    throw Object.assign(new Error(`${id} is not in the dead letter queue (status ${desc.typedSearchAttributes.get(DtfStatus) ?? desc.status.name})`), { exitCode: 2 });
  }
  const progress = await handle.query(progressQuery);
  return progress.parked!;
}

export function addDlqCommands(program: Command, withClient: <T>(cmd: Command, fn: (c: Client) => Promise<T>) => Promise<T>): void {
  const dlq = program.command('dlq').description('inspect, redrive or discard dead-lettered tasks');

  dlq
    .command('list')
    .description('dead-lettered tasks, newest first')
    .option('--category <c>', 'last error category, e.g. HARDWARE_AVAILABILITY_ERROR')
    .option('--hardware <class>', 'cuda or cpu')
    .option('--label <key=value>', 'a label of the task')
    .option('--older-than <age>', 'parked longer ago than this (30m, 6h, 2d)', parseAge)
    .option('--query <q>', 'extra visibility query')
    .option('--json', 'print JSON')
    .action(async (o: DlqFilter & { olderThan?: number; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const rows: Record<string, string>[] = [];
        for await (const wf of client.workflow.list({ query: dlqQuery({ ...o, olderThanMs: o.olderThan }) })) {
          const sa = wf.typedSearchAttributes;
          rows.push({
            workflowId: wf.workflowId,
            category: String(sa.getAll().find((p) => p.key.name === 'DtfErrorCategory')?.value ?? '-'),
            class: String(sa.getAll().find((p) => p.key.name === 'DtfHardwareClass')?.value ?? '-'),
            parkedAt: (sa.getAll().find((p) => p.key.name === 'DtfParkedAt')?.value as Date | undefined)?.toISOString() ?? '-',
          });
        }
        if (o.json) return console.log(JSON.stringify(rows, null, 2));
        if (!rows.length) return console.log('the dead letter queue is empty');
        for (const r of rows) console.log(`${r.workflowId}  ${r.category}  ${r.class}  parked ${r.parkedAt}`);
      });
    });

  dlq
    .command('show <workflowId>')
    .description('the parked task: last error report, recovery log, output tail')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => console.log(JSON.stringify(await parkedResult(client, id), null, 2)));
    });

  dlq
    .command('redrive [workflowId]')
    .description('resume a dead-lettered task (or every one matching --query), optionally with a corrected spec')
    .option('--spec <file>', 'corrected task spec (YAML/JSON; one task with the same name), validated before anything is sent')
    .option('--all-matching <query>', 'redrive every dead-lettered task matching this visibility query ("" for all)')
    .option('--reason <text>', 'for the recovery log')
    .action(async (id: string | undefined, o: { spec?: string; allMatching?: string; reason?: string }, cmd: Command) => {
      if (!id && o.allMatching === undefined) throw Object.assign(new Error('dlq redrive: give a workflow id or --all-matching QUERY'), { exitCode: 2 });
      let spec: unknown;
      if (o.spec) {
        const { tasks } = readTaskFile(o.spec);
        if (tasks.length !== 1) throw new SpecError(o.spec, [`expected exactly one task, found ${tasks.length}`]);
        spec = tasks[0];
      }
      await withClient(cmd, async (client) => {
        const ids = id ? [id] : await listIds(client, dlqQuery({ query: o.allMatching || undefined }));
        let failed = 0;
        for (const wf of ids) {
          try {
            await client.workflow.getHandle(wf).executeUpdate(redriveUpdate, { args: [{ spec, reason: o.reason }] });
            console.log(`redriven ${wf}`);
          } catch (err) {
            failed += 1;
            console.error(`not redriven ${wf}: ${rootMessage(err)}`);
          }
        }
        if (!ids.length) console.log('nothing to redrive');
        if (failed) throw Object.assign(new Error(`${failed} of ${ids.length} not redriven`), { exitCode: 2 });
      });
    });

  dlq
    .command('discard <workflowId>')
    .description('end a dead-lettered task for good')
    .requiredOption('--reason <text>', 'why (kept in its result)')
    .action(async (id: string, o: { reason: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        try {
          await client.workflow.getHandle(id).executeUpdate(discardUpdate, { args: [{ reason: o.reason }] });
        } catch (err) {
          throw Object.assign(new Error(`discard rejected: ${rootMessage(err)}`), { exitCode: 2 });
        }
        console.log(`discarded ${id}`);
      });
    });
}

export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown };
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
