/**
 * Failover and detection latency of one task, read from its workflow history after it settled: for each attempt
 * of runTestTask that failed with an infrastructure error or was lost (heartbeat timeout), its last sign of life
 * (the last heartbeat's elapsed time, or the command's end), when the server recorded the failure, and when the
 * next attempt started on another host. Event times are the server's; a Started event carries the real start time.
 */
import type { temporal } from '@temporalio/proto';
import { parseWorkerIdentity } from '../domain/hardware';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface AttemptLatency {
  cause: 'lost' | 'failed';
  category?: string;
  /** Last sign of life to the server recording the failure (ms). */
  detectionMs?: number;
  /** Last sign of life to the next attempt starting on another host (ms); absent when it ran on the same host or never started. */
  failoverMs?: number;
}

const TASK_ACTIVITY = 'runTestTask';

function ms(t: Event['eventTime']): number | undefined {
  if (!t) return undefined;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function decode(p: temporal.api.common.v1.IPayload | undefined): unknown {
  if (!p?.data) return undefined;
  const enc = p.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString() : '';
  if (enc !== 'json/plain') return undefined;
  try {
    return JSON.parse(Buffer.from(p.data).toString());
  } catch {
    return undefined;
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface Attempt {
  scheduledId: number;
  startedAt?: number;
  host?: string;
  end?: { type: 'failed' | 'timed-out' | 'other'; at: number; category?: string; durationMs?: number; lastElapsedMs?: number };
}

/** The attempts of runTestTask in a history, in order, with what their events tell. */
function taskAttempts(events: readonly Event[]): Attempt[] {
  const byScheduled = new Map<number, Attempt>();
  const out: Attempt[] = [];
  for (const e of events) {
    const id = Number(e.eventId ?? 0);
    if (e.activityTaskScheduledEventAttributes) {
      if (e.activityTaskScheduledEventAttributes.activityType?.name !== TASK_ACTIVITY) continue;
      const a: Attempt = { scheduledId: id };
      byScheduled.set(id, a);
      out.push(a);
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const a = byScheduled.get(Number(started.scheduledEventId ?? 0));
      if (a) {
        a.startedAt = ms(e.eventTime);
        a.host = parseWorkerIdentity(started.identity ?? '')?.hostId;
      }
      continue;
    }
    const failed = e.activityTaskFailedEventAttributes;
    const timedOut = e.activityTaskTimedOutEventAttributes;
    const other = e.activityTaskCompletedEventAttributes ?? e.activityTaskCanceledEventAttributes;
    const attrs = failed ?? timedOut ?? other;
    if (!attrs) continue;
    const a = byScheduled.get(Number(attrs.scheduledEventId ?? 0));
    const at = ms(e.eventTime);
    if (!a || at === undefined) continue;
    if (failed) {
      const info = failed.failure?.applicationFailureInfo;
      const meta = decode(info?.details?.payloads?.[1]) as { durationMs?: unknown } | undefined;
      a.end = { type: 'failed', at, category: info?.type ?? undefined, durationMs: num(meta?.durationMs) };
    } else if (timedOut) {
      // The last heartbeat's details say how long the attempt had run (AttemptHeartbeat.elapsedMs).
      const details = timedOut.failure?.timeoutFailureInfo?.lastHeartbeatDetails?.payloads?.[0];
      const beat = decode(details ?? undefined) as { elapsedMs?: unknown } | undefined;
      a.end = { type: 'timed-out', at, category: 'WORKER_CRASH_ERROR', lastElapsedMs: num(beat?.elapsedMs) };
    } else {
      a.end = { type: 'other', at };
    }
  }
  return out;
}

export function attemptLatencies(events: readonly Event[]): AttemptLatency[] {
  const attempts = taskAttempts(events);
  const out: AttemptLatency[] = [];
  attempts.forEach((a, i) => {
    const end = a.end;
    if (!end || end.type === 'other' || a.startedAt === undefined) return;
    // A test's own failure (a flaky rerun elsewhere) is no failover.
    if (end.category?.startsWith('TEST_')) return;
    const cause = end.type === 'timed-out' ? 'lost' : 'failed';
    const lastAlive = end.type === 'timed-out' ? a.startedAt + (end.lastElapsedMs ?? 0) : end.durationMs !== undefined ? a.startedAt + end.durationMs : end.at;
    const r: AttemptLatency = { cause, category: end.category, detectionMs: Math.max(0, end.at - lastAlive) };
    const next = attempts.slice(i + 1).find((n) => n.startedAt !== undefined);
    if (next && next.startedAt !== undefined && next.host && a.host && next.host !== a.host) r.failoverMs = Math.max(0, next.startedAt - lastAlive);
    out.push(r);
  });
  return out;
}
