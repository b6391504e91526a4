/** Shared by the integration tests: the run's server address, a fleet of real worker processes, task submission. */
import { Client } from '@temporalio/client';
import path from 'node:path';
import { newBatchId, settledResult, startTasks } from '../src/cli/submit';
import type { TestTaskResult } from '../src/domain/task-result';
import { TestTaskSpec, TestTaskSpecInput } from '../src/domain/task-spec';
import { LocalFleet, WorkerSpec, startLocalFleet } from '../src/server/local-fleet';

export const EXAMPLES = path.join(__dirname, '..', 'examples');

export function testAddress(): string {
  const address = process.env.DTF_TEST_ADDRESS;
  if (!address) throw new Error('DTF_TEST_ADDRESS is not set: the jest global setup starts the server');
  return address;
}

export function startTestFleet(workers: WorkerSpec[]): Promise<LocalFleet> {
  return startLocalFleet({ address: testAddress(), workers, logDir: process.env.DTF_TEST_LOG_DIR });
}

export function spec(input: TestTaskSpecInput): TestTaskSpec {
  return TestTaskSpec.parse(input);
}

export async function runTask(client: Client, input: TestTaskSpecInput): Promise<TestTaskResult> {
  const [handle] = await startTasks(client, [spec(input)], newBatchId());
  return settledResult(handle, 250);
}

export async function startTask(client: Client, input: TestTaskSpecInput) {
  const [handle] = await startTasks(client, [spec(input)], newBatchId());
  return handle;
}

export const node = (script: string, ...args: string[]) => [process.execPath, path.join(EXAMPLES, script), ...args];

/** Polls `check` every `intervalMs` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
