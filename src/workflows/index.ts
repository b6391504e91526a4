/** Everything the workflow bundle contains. */
export { testTaskWorkflow } from './test-task';
