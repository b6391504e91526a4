/**
 * fleetWatchWorkflow: keeps exactly one fleet watch running (workflow id FLEET_WATCH_WORKFLOW_ID). Its activity
 * loops for hours with heartbeats, so the history stays small; when a worker running it dies, another takes over.
 * It also keeps what Temporal cannot know about hosts: their self-quarantine, signalled by each worker as it changes
 * (a few signals per quarantine), and answered to `dtf workers` by a query.
 */
import { continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';

export const FLEET_WATCH_WORKFLOW_ID = 'dtf-fleet-watch';

/** A host's self-quarantine as its worker process (`pid`) last reported it. */
export interface HostHealth {
  hostId: string;
  pid: number;
  state: 'quarantined' | 'trial' | 'healthy';
  reason?: string;
  /** End of the cool-down (epoch ms), while quarantined. */
  untilMs?: number;
  atMs: number;
}

export const hostHealthSignal = defineSignal<[HostHealth]>('hostHealth');
export const fleetHealthQuery = defineQuery<HostHealth[]>('fleetHealth');

export interface FleetWatchInput {
  intervalMs?: number;
  emptyChecks?: number;
  /** Carried over continue-as-new. */
  health?: HostHealth[];
}

export async function fleetWatchWorkflow(input: FleetWatchInput = {}): Promise<void> {
  const health = new Map((input.health ?? []).map((h) => [h.hostId, h]));
  setHandler(hostHealthSignal, (h) => {
    if (h.state === 'healthy') health.delete(h.hostId);
    else health.set(h.hostId, h);
  });
  setHandler(fleetHealthQuery, () => [...health.values()]);
  const { fleetWatch } = proxyActivities<ControlActivities>({
    startToCloseTimeout: '13h',
    heartbeatTimeout: '15s',
    retry: { initialInterval: '1s', maximumInterval: '10s' },
    summary: 'fleet watch: tells waiting tasks when no live host can take them',
  });
  await fleetWatch({ intervalMs: input.intervalMs, emptyChecks: input.emptyChecks, maxRunMs: 12 * 3600_000 });
  await continueAsNew<typeof fleetWatchWorkflow>({ ...input, health: [...health.values()] });
}
