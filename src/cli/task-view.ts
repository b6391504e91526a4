/**
 * Reads one task for the CLI views (`dtf status`, `dtf logs`): describe, the result or the progress query, the
 * workflow's input (its spec), and the running attempt's heartbeat. Each read is one call; nothing here loops.
 */
import { Client, WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { createControlActivities } from '../activities/control';
import type { AttemptHeartbeat, TaskProgress, TestTaskInput, TestTaskResult } from '../domain/task-result';
import { liveOutputOf } from '../domain/live-output';
import { progressQuery } from '../workflows/messages';
import type { AttemptView, StatusView } from './views/status-page';

const { PendingActivityState } = temporal.api.enums.v1;

/** A CLI error with its exit code (2: bad input, such as an unknown workflow id). */
export const cliError = (message: string, exitCode = 2) => Object.assign(new Error(message), { exitCode });

export async function describeTask(client: Client, id: string) {
  const handle = client.workflow.getHandle(id);
  try {
    return { handle, desc: await handle.describe() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw cliError(`no task with workflow id "${id}"`);
    throw err;
  }
}

type Described = Awaited<ReturnType<WorkflowHandle['describe']>>;

/**
 * The pending attempt (`runTestTask`) and the details of its last heartbeat, decoded through the client's whole data
 * converter: with the payload codec on, heartbeat details are encrypted like every payload.
 */
export async function runningAttemptHeartbeat(client: Client, desc: Described) {
  const pending = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'runTestTask');
  if (!pending) return undefined;
  let beat: AttemptHeartbeat | undefined;
  try {
    beat = (await decodeOptionalSinglePayload<AttemptHeartbeat>(client.options.loadedDataConverter, pending.heartbeatDetails?.payloads?.[0])) ?? undefined;
  } catch {
    beat = undefined; // an undecodable heartbeat only costs the live view
  }
  return { pending, beat };
}

/** The task's attempt in flight, from its pending activity and the details of its last heartbeat. */
export async function attemptOf(client: Client, desc: Described): Promise<AttemptView | undefined> {
  const running = await runningAttemptHeartbeat(client, desc);
  if (!running) return undefined;
  const { pending, beat } = running;
  const state =
    pending.state === PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
      ? 'cancel-requested'
      : pending.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        ? 'started'
        : 'scheduled';
  const at = pending.lastHeartbeatTime;
  return {
    state,
    attempt: beat?.attempt,
    hostId: beat?.hostId,
    worker: pending.lastWorkerIdentity || undefined,
    elapsedMs: beat?.elapsedMs,
    lastHeartbeatAt: at?.seconds ? new Date(Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6)).toISOString() : undefined,
    output: liveOutputOf(beat),
  };
}

/** The task's spec as the current run started with it (one history event). */
async function specOf(client: Client, desc: Described): Promise<StatusView['spec']> {
  try {
    const res = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: desc.workflowId, runId: desc.runId },
      maximumPageSize: 1,
    });
    const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    // Through the whole data converter: with the payload codec on, the input is encrypted.
    const input = (await decodeOptionalSinglePayload<TestTaskInput>(client.options.loadedDataConverter, payload)) ?? undefined;
    const spec = input?.resume?.spec ?? input?.spec;
    return spec ? { name: spec.name, hardware: spec.hardware, host: spec.host } : undefined;
  } catch {
    return undefined;
  }
}

/** Everything `dtf status` shows, read once. */
export async function readStatusView(client: Client, id: string): Promise<StatusView & { pendingActivities?: unknown[] }> {
  const { handle, desc } = await describeTask(client, id);
  const status = desc.status.name;
  const view: StatusView & { pendingActivities?: unknown[] } = {
    workflowId: id,
    temporalStatus: status,
    searchAttributes: Object.fromEntries(desc.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])),
    spec: await specOf(client, desc),
  };
  if (status === 'COMPLETED') {
    view.result = (await handle.result()) as TestTaskResult;
    return view;
  }
  if (status !== 'RUNNING') {
    view.closeReason = await handle.result().then(
      () => undefined,
      (err: Error) => rootMessage(err),
    );
    // A cancelled task still answers its progress query (a worker replays it): its recovery log, where it was.
    if (status === 'CANCELLED') view.progress = await handle.query(progressQuery).catch(() => undefined);
    return view;
  }
  view.progress = (await handle.query(progressQuery).catch(() => undefined)) as TaskProgress | undefined;
  view.attempt = await attemptOf(client, desc);
  view.pendingActivities = desc.raw.pendingActivities?.map((a) => ({ activity: a.activityType?.name, worker: a.lastWorkerIdentity, state: a.state }));
  const queue = view.progress?.placement?.queue;
  if (queue && view.attempt?.state === 'scheduled') {
    view.waiting = view.progress?.waitingReason || (await createControlActivities(client).describeWait(queue).then((w) => w.reason, () => undefined));
  }
  return view;
}

function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && (e.cause as { message?: string } | undefined)?.message) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
