/**
 * What `dtf workers` learns from a worker beyond its pollers: its self-quarantine, signalled to the fleet watch as
 * it changes, and its busy slots, in the SDK's worker heartbeats (every WORKER_HEARTBEAT_INTERVAL).
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { QuarantineEvent } from '../resilience/host-quarantine';
import { FLEET_WATCH_WORKFLOW_ID, HostHealth, hostHealthSignal } from '../workflows/fleet-watch';

/** Busy slots in `dtf workers` are at most this old; one small RPC per worker process each time. */
export const WORKER_HEARTBEAT_INTERVAL = '10s';

export function healthOf(event: QuarantineEvent): Pick<HostHealth, 'state' | 'reason' | 'untilMs' | 'atMs'> {
  if (event.type === 'quarantined') return { state: 'quarantined', reason: event.reason, untilMs: event.until, atMs: event.at };
  if (event.type === 'half-open') return { state: 'trial', atMs: event.at };
  return { state: 'healthy', atMs: event.at };
}

/** A signal to the fleet watch; one that cannot be sent only costs `dtf workers` its quarantine column. */
export function reportHostHealth(client: Client, health: HostHealth, log: Logger): void {
  void client.workflow
    .getHandle(FLEET_WATCH_WORKFLOW_ID)
    .signal(hostHealthSignal, health)
    .catch((err: unknown) => log.warn({ err }, 'could not tell the fleet watch about this host\'s quarantine'));
}
