/**
 * Control activities run on the workflow queue of any worker: host discovery from Temporal's own poller lists, the
 * queue watch that notices a queue nobody serves, and notifications the workflow sends (a task dead-lettered).
 */
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CPU_TASK_QUEUE, GPU_MEMORY_TIERS_GB, IdentityInfo, WORKFLOW_TASK_QUEUE, cudaQueueForTier, hostIdFromQueue, hostServesQueue, parseWorkerIdentity } from '../domain/hardware';
import { placementObservationSignal } from '../workflows/messages';
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

/** How often the fleet watch looks at the fleet, and how many empty looks in a row make a queue unserved. */
export const FLEET_WATCH_INTERVAL_MS = 5_000;
export const FLEET_WATCH_EMPTY_CHECKS = 2;
/** How often the fleet watch asks an unserved queue for pollers of its own (hosts that run no workflow worker). */
const POLLER_RECHECK_MS = 30_000;
/** Every class queue a task can wait on. */
export const CLASS_QUEUES: readonly string[] = [CPU_TASK_QUEUE, ...GPU_MEMORY_TIERS_GB.map(cudaQueueForTier)];

/** The control activities fault injection can make fail (`dtf worker --inject-control NAME,…`). */
export const CONTROL_ACTIVITY_NAMES = ['listQueueHosts', 'watchQueue', 'notifyDeadLettered'] as const;
export type ControlActivityName = (typeof CONTROL_ACTIVITY_NAMES)[number];

/** One describeTaskQueue: its fresh pollers by host (the newest poller of each) and, when asked for, the approximate backlog. */
export async function describeQueuePollers(
  client: Client,
  queue: string,
  type: temporal.api.enums.v1.TaskQueueType,
  reportStats: boolean,
): Promise<{ hosts: IdentityInfo[]; backlog?: number }> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: type,
    ...(reportStats ? { reportStats: true } : {}),
  });
  const now = Date.now();
  const hosts = new Map<string, { info: IdentityInfo; seenMs: number }>();
  for (const poller of res.pollers ?? []) {
    const seenMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((poller.lastAccessTime?.nanos ?? 0) / 1e6);
    if (now - seenMs > POLLER_FRESHNESS_MS) continue;
    const info = parseWorkerIdentity(poller.identity ?? '');
    if (info && seenMs >= (hosts.get(info.hostId)?.seenMs ?? -1)) hosts.set(info.hostId, { info, seenMs });
  }
  const backlogCount = res.stats?.approximateBacklogCount;
  return {
    hosts: [...hosts.values()].map((h) => ({ ...h.info, lastSeenMs: h.seenMs })),
    ...(backlogCount === undefined || backlogCount === null ? {} : { backlog: Number(backlogCount) }),
  };
}

export function createControlActivities(client: Client, notifier?: Notifier, opts: { failing?: readonly ControlActivityName[] } = {}) {
  const activities = controlActivities(client, notifier);
  for (const name of opts.failing ?? []) {
    // Fault injection: the workflow must degrade to its placement rules, never fail on its own plumbing.
    (activities as Record<string, unknown>)[name] = async () => {
      throw new Error(`FAULT INJECTION: control activity ${name} fails (--inject-control)`);
    };
  }
  return activities;
}

function controlActivities(client: Client, notifier?: Notifier) {
  const namespace = client.options.namespace;

  /** One entry per host: its most recent fresh poller (a restarted worker replaces its dead predecessor). */
  async function pollingHosts(queue: string, type: temporal.api.enums.v1.TaskQueueType): Promise<IdentityInfo[]> {
    return (await describeQueue(queue, type, false)).hosts;
  }

  const describeQueue = (queue: string, type: temporal.api.enums.v1.TaskQueueType, reportStats: boolean) => describeQueuePollers(client, queue, type, reportStats);

  /**
   * Live hosts that can pick up work waiting on `queue`: polling it, or alive (polling the workflow queue) with the
   * hardware for it — a host whose slots are all busy stops polling its class queues but is still there.
   */
  async function eligibleFor(queue: string, reportStats = false): Promise<{ eligibleHosts: string[]; polling: Set<string>; backlog?: number }> {
    const [onQueue, alive] = await Promise.all([
      describeQueue(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, reportStats),
      pollingHosts(WORKFLOW_TASK_QUEUE, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    ]);
    const polling = new Set(onQueue.hosts.map((h) => h.hostId));
    const eligibleHosts = [...new Set([...polling, ...alive.filter((h) => hostServesQueue(h, queue)).map((h) => h.hostId)])].sort();
    return { eligibleHosts, polling, backlog: onQueue.backlog };
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
      return { started, eligibleHosts: (await eligibleFor(req.queue)).eligibleHosts };
    },

    /**
     * Why a task waits on `queue`, for people: live hosts that could take it, and the queue's backlog (Temporal's
     * approximate count, cached by the server for a few seconds). Called on demand (`dtf status`), never on a timer.
     */
    async describeWait(queue: string): Promise<{ eligibleHosts: string[]; backlog?: number; reason: string }> {
      const { eligibleHosts, polling, backlog } = await eligibleFor(queue, true);
      const busy = eligibleHosts.filter((h) => !polling.has(h));
      const n = eligibleHosts.length;
      const busyText = busy.length === 0 ? '' : busy.length === n ? (n > 1 ? ', all busy' : ', busy') : `, ${busy.length} busy`;
      const hosts = n === 0 ? 'no live host can take it' : `${n} eligible host${n > 1 ? 's' : ''} (${eligibleHosts.join(', ')})${busyText}`;
      const ahead = backlog !== undefined && backlog > 1 ? `; about ${backlog - 1} task${backlog - 1 > 1 ? 's' : ''} ahead on ${queue}` : '';
      return { eligibleHosts, backlog, reason: `waiting: ${hosts}${ahead}` };
    },

    /**
     * The fleet watch: one long-running activity for the whole fleet (fleetWatchWorkflow keeps exactly one). Every
     * few seconds it reads who is alive from Temporal's own poller lists; for each queue no live host serves (two
     * looks in a row) it finds the tasks waiting there through visibility and tells them, once. Its cost is per
     * fleet, not per waiting task: nothing describes itself on a timer.
     */
    async fleetWatch(opts: { intervalMs?: number; emptyChecks?: number; maxRunMs?: number } = {}): Promise<void> {
      const ctx = Context.current();
      const intervalMs = opts.intervalMs ?? FLEET_WATCH_INTERVAL_MS;
      const emptyChecks = opts.emptyChecks ?? FLEET_WATCH_EMPTY_CHECKS;
      const endAt = Date.now() + (opts.maxRunMs ?? 12 * 3600_000);
      const emptyFor = new Map<string, number>();
      const pollersCheckedAt = new Map<string, number>();
      const told = new Set<string>();
      while (Date.now() < endAt && !ctx.cancellationSignal.aborted) {
        ctx.heartbeat();
        try {
          const alive = await pollingHosts(WORKFLOW_TASK_QUEUE, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
          const unserved = new Set<string>();
          for (const queue of CLASS_QUEUES) {
            if (alive.some((h) => hostServesQueue(h, queue))) {
              emptyFor.delete(queue);
              continue;
            }
            // Hosts without a workflow worker count while they poll the queue itself: looked at when the queue is about
            // to count as unserved, then every POLLER_RECHECK_MS, so that a fleet with few tiers pays little for the rest.
            const due = (emptyFor.get(queue) ?? 0) + 1 === emptyChecks || Date.now() - (pollersCheckedAt.get(queue) ?? 0) >= POLLER_RECHECK_MS;
            if (due) pollersCheckedAt.set(queue, Date.now());
            const polling = due ? await pollingHosts(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY) : [];
            if (polling.length) {
              emptyFor.delete(queue);
              continue;
            }
            emptyFor.set(queue, (emptyFor.get(queue) ?? 0) + 1);
            if (emptyFor.get(queue)! >= emptyChecks) unserved.add(queue);
          }
          const aliveIds = new Set(alive.map((h) => h.hostId));
          const queries = [...unserved].map((q) => `'${q}'`);
          const classClause = queries.length ? `DtfQueue IN (${queries.join(', ')})` : undefined;
          const hostClause = `DtfQueue STARTS_WITH 'dtf-host-'`;
          const query = `ExecutionStatus = 'Running' AND DtfStatus IN ('queued', 'retrying') AND (${classClause ? `${classClause} OR ` : ''}${hostClause})`;
          for await (const wf of client.workflow.list({ query })) {
            const queue = wf.searchAttributes?.DtfQueue?.[0] as string | undefined;
            if (!queue) continue;
            const host = hostIdFromQueue(queue);
            if (host !== undefined) {
              if (aliveIds.has(host)) continue;
              emptyFor.set(queue, (emptyFor.get(queue) ?? 0) + 1);
              if (emptyFor.get(queue)! < emptyChecks) continue;
            }
            const key = `${wf.workflowId}/${wf.runId}/${queue}`;
            if (told.has(key)) continue;
            told.add(key);
            const reason = host !== undefined ? `host ${host} is not alive in the fleet` : `no live host in the fleet serves ${queue}`;
            await client.workflow
              .getHandle(wf.workflowId)
              .signal(placementObservationSignal, { queue, eligibleHosts: 0, reason })
              .catch(() => told.delete(key));
          }
          for (const q of [...emptyFor.keys()]) if (hostIdFromQueue(q) !== undefined && aliveIds.has(hostIdFromQueue(q)!)) emptyFor.delete(q);
        } catch (err) {
          // A look that fails (server restarting) is skipped; the next one tries again.
          if (ctx.cancellationSignal.aborted) break;
          ctx.log.warn(`fleet watch: ${(err as Error).message}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          ctx.cancellationSignal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      // Stopped (this worker shuts down, or the run was cancelled): fail, so that another worker takes the watch over as
      // a retry of this activity, instead of ending the run (a continue-as-new made by a worker on its way out).
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('fleet watch stopped');
    },

    /** A task was parked in the dead letter queue: tell the operators (log and webhooks of this worker's config). */
    async notifyDeadLettered(event: DeadLetteredEvent): Promise<void> {
      await notifier?.notify(deadLetteredNotification(event));
    },
  };
}

export type ControlActivities = ReturnType<typeof controlActivities>;
