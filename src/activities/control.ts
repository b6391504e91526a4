/**
 * Control activities run on the workflow queue of any worker: host discovery from Temporal's own poller lists, the
 * queue watch that notices a queue nobody serves, and notifications the workflow sends (a task dead-lettered).
 */
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { IdentityInfo, WORKFLOW_TASK_QUEUE, hostServesQueue, parseWorkerIdentity } from '../domain/hardware';
import { deadLetteredNotification } from '../notifications/events';
import type { Notifier } from '../notifications/notifier';

/** A poller older than this is taken as gone; idle workers re-poll at least every ~60 s (long-poll length). */
export const POLLER_FRESHNESS_MS = 75_000;

const { TaskQueueKind, TaskQueueType, PendingActivityState } = temporal.api.enums.v1;

export interface QueueWatch {
  /** The task's attempt is running on a worker (heartbeats watch it from here). */
  started: boolean;
  /** Live hosts that serve the queue: polling it, or alive (polling the workflow queue) with hardware that serves it. */
  eligibleHosts: string[];
}

export interface DeadLetteredEvent {
  workflowId: string;
  task: string;
  category: string;
  reason: string;
  hostId?: string;
}

export function createControlActivities(client: Client, notifier?: Notifier) {
  const namespace = client.options.namespace;

  /** One entry per host: its most recent fresh poller (a restarted worker replaces its dead predecessor). */
  async function pollingHosts(queue: string, type: temporal.api.enums.v1.TaskQueueType): Promise<IdentityInfo[]> {
    const res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type,
    });
    const now = Date.now();
    const hosts = new Map<string, { info: IdentityInfo; seenMs: number }>();
    for (const poller of res.pollers ?? []) {
      const seenMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((poller.lastAccessTime?.nanos ?? 0) / 1e6);
      if (now - seenMs > POLLER_FRESHNESS_MS) continue;
      const info = parseWorkerIdentity(poller.identity ?? '');
      if (info && seenMs >= (hosts.get(info.hostId)?.seenMs ?? -1)) hosts.set(info.hostId, { info, seenMs });
    }
    return [...hosts.values()].map((h) => ({ ...h.info, lastSeenMs: h.seenMs }));
  }

  return {
    /** Live dtf hosts polling `queue` for activities, read from the worker identities Temporal reports. */
    listQueueHosts(queue: string): Promise<IdentityInfo[]> {
      return pollingHosts(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY);
    },

    /**
     * Whether a task still waiting on `queue` can be picked up at all. A host whose slots are all busy stops polling
     * its class queues, so the workflow queue (polled on separate slots) also counts as a sign of life.
     */
    async watchQueue(req: { workflowId: string; queue: string }): Promise<QueueWatch> {
      const described = await client.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: req.workflowId } });
      const started = (described.pendingActivities ?? []).some(
        (a) => a.activityType?.name === 'runTestTask' && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      if (started) return { started, eligibleHosts: [] };
      const [onQueue, alive] = await Promise.all([
        pollingHosts(req.queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
        pollingHosts(WORKFLOW_TASK_QUEUE, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
      ]);
      const eligible = new Set([...onQueue.map((h) => h.hostId), ...alive.filter((h) => hostServesQueue(h, req.queue)).map((h) => h.hostId)]);
      return { started, eligibleHosts: [...eligible].sort() };
    },

    /** A task was parked in the dead letter queue: tell the operators (log and webhooks of this worker's config). */
    async notifyDeadLettered(event: DeadLetteredEvent): Promise<void> {
      await notifier?.notify(deadLetteredNotification(event));
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
