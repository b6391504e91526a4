/**
 * fleetWatchWorkflow: keeps exactly one fleet watch running (workflow id FLEET_WATCH_WORKFLOW_ID). Its activity
 * loops for hours with heartbeats, so the history stays small; when a worker running it dies, another takes over.
 */
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';

export const FLEET_WATCH_WORKFLOW_ID = 'dtf-fleet-watch';

export interface FleetWatchInput {
  intervalMs?: number;
  emptyChecks?: number;
}

export async function fleetWatchWorkflow(input: FleetWatchInput = {}): Promise<void> {
  const { fleetWatch } = proxyActivities<ControlActivities>({
    startToCloseTimeout: '13h',
    heartbeatTimeout: '15s',
    retry: { initialInterval: '1s', maximumInterval: '10s' },
    summary: 'fleet watch: tells waiting tasks when no live host can take them',
  });
  await fleetWatch({ ...input, maxRunMs: 12 * 3600_000 });
  await continueAsNew<typeof fleetWatchWorkflow>(input);
}
