/** Control activities run on the workflow queue of any worker: host discovery from Temporal's own poller lists. */
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { IdentityInfo, parseWorkerIdentity } from '../domain/hardware';

/** A poller older than this is taken as gone; idle workers re-poll at least every ~60 s (long-poll length). */
export const POLLER_FRESHNESS_MS = 75_000;

export function createControlActivities(client: Client) {
  return {
    /** Live dtf hosts polling `queue` for activities, read from the worker identities Temporal reports. */
    async listQueueHosts(queue: string): Promise<IdentityInfo[]> {
      const res = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      const now = Date.now();
      // One entry per host: its most recent poller (a restarted worker replaces its dead predecessor).
      const hosts = new Map<string, { info: IdentityInfo; seenMs: number }>();
      for (const poller of res.pollers ?? []) {
        const seenMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((poller.lastAccessTime?.nanos ?? 0) / 1e6);
        if (now - seenMs > POLLER_FRESHNESS_MS) continue;
        const info = parseWorkerIdentity(poller.identity ?? '');
        if (info && seenMs >= (hosts.get(info.hostId)?.seenMs ?? -1)) hosts.set(info.hostId, { info, seenMs });
      }
      return [...hosts.values()].map((h) => ({ ...h.info, lastSeenMs: h.seenMs }));
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
