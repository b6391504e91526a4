/**
 * `dtf cancel ID | --batch B`: Temporal's own cancellation. The workflow's cancel reaches the running attempt through
 * its heartbeat; the worker stops the command and runs the attempt's undos (workspace, GPU lease, teardowns) before
 * the task ends `cancelled`. A batch is one Temporal batch operation over a visibility query.
 */
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Command, InvalidArgumentError } from 'commander';
import { randomUUID } from 'node:crypto';
import { DtfStatus } from '../domain/search-attributes';
import { cliError, describeTask } from './task-view';
import type { WithClient } from './status';

const { BatchOperationState } = temporal.api.enums.v1;
/** Looks at the server once a second while waiting for the tasks to end. */
const POLL_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function batchCancelQuery(batchId: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(batchId)) throw new InvalidArgumentError(`--batch "${batchId}": expected 1-64 letters, digits, ".", "_" or "-"`);
  return `WorkflowType = 'testTaskWorkflow' AND ExecutionStatus = 'Running' AND DtfRunId = '${batchId}'`;
}

/** Requests the cancel of one task; resolves once it has ended (or `waitMs` passed), with its final DtfStatus. */
export async function cancelTask(client: Client, id: string, reason: string, waitMs: number): Promise<{ status: string; ended: boolean }> {
  const { handle, desc } = await describeTask(client, id);
  if (desc.status.name !== 'RUNNING') throw cliError(`${id} has already ended (${desc.typedSearchAttributes.get(DtfStatus) ?? desc.status.name})`);
  await client.workflowService.requestCancelWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: id, runId: desc.runId },
    identity: client.options.identity,
    requestId: randomUUID(),
    reason,
  });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const now = await handle.describe();
    const status = String(now.typedSearchAttributes.get(DtfStatus) ?? now.status.name);
    if (now.status.name !== 'RUNNING') return { status, ended: true };
    if (Date.now() >= deadline) return { status, ended: false };
    await sleep(POLL_MS);
  }
}

/** Cancels every running task of a batch with one Temporal batch operation; waits for the tasks to end. */
export async function cancelBatch(client: Client, batchId: string, reason: string, waitMs: number, say: (m: string) => void): Promise<{ requested: number; stillRunning: number }> {
  const query = batchCancelQuery(batchId);
  const { count } = await client.workflow.count(query);
  if (count === 0) throw cliError(`no running task in batch "${batchId}"`);
  const namespace = client.options.namespace;
  const jobId = `dtf-cancel-${batchId}-${randomUUID().slice(0, 8)}`;
  await client.workflowService.startBatchOperation({ namespace, jobId, reason, visibilityQuery: query, cancellationOperation: { identity: client.options.identity } });
  say(`cancel requested for ${count} running task(s) of batch ${batchId} (Temporal batch job ${jobId})`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const job = await client.workflowService.describeBatchOperation({ namespace, jobId });
    if (job.state === BatchOperationState.BATCH_OPERATION_STATE_FAILED) throw cliError(`batch job ${jobId} failed: ${job.reason || 'see the server log'}`, 1);
    if (job.state === BatchOperationState.BATCH_OPERATION_STATE_COMPLETED) {
      const failed = Number(job.failureOperationCount ?? 0);
      if (failed) say(`${failed} cancel request(s) failed (tasks that ended meanwhile)`);
      break;
    }
    if (Date.now() >= deadline) break;
    await sleep(POLL_MS);
  }
  for (;;) {
    const { count: left } = await client.workflow.count(query);
    if (left === 0 || Date.now() >= deadline) return { requested: count, stillRunning: left };
    await sleep(POLL_MS);
  }
}

export function registerCancelCommand(program: Command, withClient: WithClient): void {
  program
    .command('cancel [workflowId]')
    .description('cancel a task, or every running task of a batch: the running attempt stops and its undos run on its host; the task ends cancelled')
    .option('--batch <id>', 'cancel every running task of this batch (DtfRunId), with one Temporal batch operation')
    .option('--reason <text>', 'why (recorded in the workflow history)', 'cancelled with dtf cancel')
    .option('--wait <seconds>', 'how long to wait for the tasks to end (checks once a second)', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--wait must be a number of seconds, got "${v}"`);
      return n;
    }, 60)
    .action(async (id: string | undefined, o: { batch?: string; reason: string; wait: number }, cmd: Command) => {
      if (!id === !o.batch) throw cliError('give a workflow id or --batch ID (one of them)');
      await withClient(cmd, async (client) => {
        if (o.batch) {
          const { requested, stillRunning } = await cancelBatch(client, o.batch, o.reason, o.wait * 1000, (m) => console.log(m));
          console.log(stillRunning ? `${requested - stillRunning} of ${requested} ended; ${stillRunning} still stopping (dtf list --batch ${o.batch})` : `${requested} task(s) cancelled`);
          return;
        }
        const { status, ended } = await cancelTask(client, id!, o.reason, o.wait * 1000);
        console.log(ended ? `${id}: ${status}` : `${id}: cancel requested, still stopping (${status}); see dtf status ${id}`);
      });
    });
}
