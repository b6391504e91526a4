/**
 * `dtf workers`: reads the fleet from Temporal (describeTaskQueue on dtf's queues, ListWorkers for the SDK's worker
 * heartbeats) and the fleet watch (quarantine), then prints views/workers-table.ts. About ten calls, once.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import { describeQueuePollers } from '../activities/control';
import { WORKFLOW_TASK_QUEUE, hostQueue } from '../domain/hardware';
import { FLEET_WATCH_WORKFLOW_ID, HostHealth, fleetHealthQuery } from '../workflows/fleet-watch';
import type { WithClient } from './status';
import { CLASS_QUEUE_NAMES, QueuePollers, WorkerBeat, WorkerRow, fleetRows, renderWorkers } from './views/workers-table';

const { TaskQueueType } = temporal.api.enums.v1;
const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t?.seconds ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined);

/** The SDK's worker heartbeats (used slots per queue); undefined where the server has them off or lacks ListWorkers. */
async function workerBeats(client: Client): Promise<WorkerBeat[] | undefined> {
  try {
    const beats: WorkerBeat[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const res = await client.workflowService.listWorkers({ namespace: client.options.namespace, pageSize: 1000, nextPageToken });
      for (const w of res.workersInfo ?? []) {
        const hb = w.workerHeartbeat;
        if (!hb?.workerIdentity?.startsWith('dtf:')) continue;
        beats.push({ workerIdentity: hb.workerIdentity, taskQueue: hb.taskQueue ?? '', usedSlots: hb.activityTaskSlotsInfo?.currentUsedSlots ?? 0, heartbeatMs: tsMs(hb.heartbeatTime) });
      }
      nextPageToken = res.nextPageToken?.length ? res.nextPageToken : undefined;
    } while (nextPageToken);
    return beats.length ? beats : undefined;
  } catch {
    return undefined;
  }
}

async function fleetHealth(client: Client): Promise<HostHealth[] | undefined> {
  return client.workflow.getHandle(FLEET_WATCH_WORKFLOW_ID).query(fleetHealthQuery).catch(() => undefined);
}

export async function readWorkers(client: Client): Promise<{ rows: WorkerRow[]; notes: string[] }> {
  const pollers: QueuePollers = {};
  const read = async (queue: string, type: temporal.api.enums.v1.TaskQueueType) => {
    pollers[queue] = (await describeQueuePollers(client, queue, type, false)).hosts;
  };
  await Promise.all([read(WORKFLOW_TASK_QUEUE, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), ...CLASS_QUEUE_NAMES.map((q) => read(q, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))]);
  const hosts = new Set(Object.values(pollers).flatMap((l) => l.map((h) => h.hostId)));
  await Promise.all([...hosts].map((h) => read(hostQueue(h), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)));
  for (const [q, list] of Object.entries(pollers)) if (!list.length) delete pollers[q];
  const [beats, health] = await Promise.all([workerBeats(client), fleetHealth(client)]);
  const notes: string[] = [];
  if (!beats) notes.push('busy slots: no worker heartbeats on this server (they need Temporal server 1.29+ with frontend.WorkerHeartbeatsEnabled and frontend.ListWorkersEnabled)');
  if (!health) notes.push('quarantine: the fleet watch did not answer (no workflow worker running?)');
  return { rows: fleetRows(pollers, beats, health, Date.now()), notes };
}

export function registerWorkersCommand(program: Command, withClient: WithClient): void {
  program
    .command('workers')
    .description('live hosts: hardware, the queues they poll, busy task slots (worker heartbeats, up to 10 s old), quarantine state')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const { rows, notes } = await readWorkers(client);
        console.log(o.json ? JSON.stringify({ workers: rows, notes }, null, 2) : renderWorkers(rows, Date.now(), notes));
      });
    });
}
