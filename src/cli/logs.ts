/**
 * `dtf logs ID [--follow]`: a task's output. While an attempt runs, its newest lines travel in the activity's
 * heartbeat details (the worker beats about once a second), read here from the pending activity with one describe;
 * once the task ends, its result's output tail gives the rest. Output lines go to stdout, notes to stderr.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { linesAfterPrinted, unseenLines } from '../domain/live-output';
import { DtfStatus } from '../domain/search-attributes';
import type { TestTaskResult } from '../domain/task-result';
import { progressQuery } from '../workflows/messages';
import { attemptOf, describeTask } from './task-view';
import type { WithClient } from './status';

/** One describe per look; `--follow` looks once a second. */
export const FOLLOW_INTERVAL_MS = 1_000;
const REMEMBERED_LINES = 20;

export interface LogsOptions {
  follow: boolean;
  out?: (line: string) => void;
  note?: (line: string) => void;
  intervalMs?: number;
}

/** Prints the task's output; with `follow`, keeps printing new lines until the task ends (or is parked). */
export async function showLogs(client: Client, id: string, opts: LogsOptions): Promise<string> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const note = opts.note ?? ((l: string) => process.stderr.write(`${l}\n`));
  let attempt: number | undefined;
  let printed = 0;
  let recent: string[] = [];
  let announcedWait = false;
  const emit = (lines: string[]) => {
    for (const l of lines) out(l);
    recent = [...recent, ...lines].slice(-REMEMBERED_LINES);
  };
  /** The rest of an attempt's output from its final tail (lines after the last one seen live). */
  const finish = (tail: string | undefined) => emit(linesAfterPrinted(recent, tail ?? ''));
  for (;;) {
    const { handle, desc } = await describeTask(client, id);
    const dtfStatus = String(desc.typedSearchAttributes.get(DtfStatus) ?? desc.status.name);
    if (desc.status.name !== 'RUNNING') {
      if (desc.status.name === 'COMPLETED') {
        const result = (await handle.result()) as TestTaskResult;
        finish(result.outputTail);
      }
      note(`-- task ${id} ended: ${dtfStatus}`);
      return dtfStatus;
    }
    const live = await attemptOf(client, desc);
    if (live?.output && live.attempt !== undefined) {
      if (live.attempt !== attempt) {
        note(`-- attempt ${live.attempt}${live.hostId ? ` on ${live.hostId}` : ''}`);
        attempt = live.attempt;
        printed = 0;
        recent = [];
      }
      const seen = unseenLines(printed, live.output);
      if (seen.skipped) note(`-- ${seen.skipped} line(s) went by between two looks`);
      emit(seen.lines);
      printed = seen.printed;
      announcedWait = false;
    } else if (!live && dtfStatus === 'dead_lettered') {
      const parked = (await handle.query(progressQuery)).parked;
      if (!recent.length) finish(parked?.outputTail);
      note(`-- task ${id} is dead-lettered: see dtf status ${id}`);
      return dtfStatus;
    } else if (!announcedWait) {
      note(`-- no attempt running now (${dtfStatus})${opts.follow ? '; waiting' : ''}`);
      announcedWait = true;
    }
    if (!opts.follow) {
      if (!recent.length && !live) {
        const last = (await handle.query(progressQuery).catch(() => undefined))?.lastFailure;
        if (last?.outputTail) finish(last.outputTail);
      }
      return dtfStatus;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? FOLLOW_INTERVAL_MS));
  }
}

export function registerLogsCommand(program: Command, withClient: WithClient): void {
  program
    .command('logs <workflowId>')
    .description('a task\'s output: the running attempt\'s newest lines (from its heartbeat), or the output tail of a task that ended')
    .option('--follow', `keep printing new lines until the task ends; looks once every ${FOLLOW_INTERVAL_MS / 1000} s (one describe of the workflow), so lines arrive about a second late`)
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      await withClient(cmd, (client) => showLogs(client, id, { follow: o.follow === true }));
    });
}
