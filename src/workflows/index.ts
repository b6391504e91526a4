/** Everything the workflow bundle contains. */
export { testTaskWorkflow } from './test-task';
export { fleetWatchWorkflow } from './fleet-watch';
