/** The baseline: the smallest Temporal workflow + activity that runs the same command. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './bare-activities';

const { runCommand } = proxyActivities<typeof activities>({ startToCloseTimeout: '1m' });

export async function bareWorkflow(argv: string[]): Promise<number> {
  return runCommand(argv);
}
