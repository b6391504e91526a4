/** The baselines: the smallest Temporal workflow + activity that runs the same command. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './bare-activities';

const { runCommand } = proxyActivities<typeof activities>({ startToCloseTimeout: '1m' });

/** The activity on the workflow's own queue: the SDK hands it to the same worker eagerly, with no matching hop. */
export async function bareWorkflow(argv: string[]): Promise<number> {
  return runCommand(argv);
}

/** The activity on a queue of its own, as any routing to hardware needs (dtf's class queues): one matching hop more. */
export async function bareRoutedWorkflow(argv: string[], activityQueue: string): Promise<number> {
  return proxyActivities<typeof activities>({ startToCloseTimeout: '1m', taskQueue: activityQueue }).runCommand(argv);
}
