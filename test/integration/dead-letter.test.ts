/** The dead letter queue on a real server: park, inspect, redrive with a corrected spec, discard, expire. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DtfParkedAt, DtfStatus } from '../../src/domain/search-attributes';
import type { TestTaskResult } from '../../src/domain/task-result';
import { DTF_BIN, LocalFleet } from '../../src/server/local-fleet';
import { discardUpdate, redriveUpdate } from '../../src/workflows/messages';
import { node, runTask, spec, startTask, startTestFleet, testAddress, waitUntil } from '../helpers';
import { settledResult } from '../../src/cli/submit';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await startTestFleet([{ hostId: 'dl-cpu' }]);
});

afterAll(async () => {
  await fleet?.stop();
});

const dtf = (...args: string[]) => spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), ...args], { encoding: 'utf8' });

test('a task that cannot succeed is parked, listed, shown, and redriven with a corrected spec to pass', async () => {
  const broken = { name: 'dl-config', command: node('scripts/bad-config.js'), labels: { team: 'vision' } };
  const handle = await startTask(fleet.client, broken);
  const parked = await settledResult(handle, 250);
  expect(parked.status).toBe('dead_lettered');
  expect(parked.category).toBe('TEST_CONFIGURATION_ERROR');
  expect(parked.recoveryLog.map((e) => e.action)).toEqual(['compensate', 'fail', 'dead-letter']);
  const desc = await handle.describe();
  expect(desc.status.name).toBe('RUNNING'); // waiting durably for an operator
  expect(desc.typedSearchAttributes.get(DtfStatus)).toBe('dead_lettered');
  expect(desc.typedSearchAttributes.get(DtfParkedAt)).toBeInstanceOf(Date);

  await waitUntil(
    'the DLQ listing',
    () => dtf('dlq', 'list', '--category', 'TEST_CONFIGURATION_ERROR', '--label', 'team=vision', '--json').stdout.includes(handle.workflowId),
    10_000,
    300, // each look runs the CLI
  );
  expect(dtf('dlq', 'list', '--category', 'NETWORK_TIMEOUT_ERROR', '--json').stdout).not.toContain(handle.workflowId);
  const shown = JSON.parse(dtf('dlq', 'show', handle.workflowId).stdout) as TestTaskResult;
  expect(shown.exitCode).toBe(2);
  expect(shown.outputTail).toContain('unrecognized arguments');

  // A corrected spec that is itself invalid is rejected by the update's validator, naming the field.
  const bad = await handle.executeUpdate(redriveUpdate, { args: [{ spec: { ...broken, timeoutSeconds: 'soon' } }] }).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(String((bad as { cause?: Error }).cause?.message)).toMatch(/timeoutSeconds: Expected number, received string/);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-fix-'));
  const fixed = path.join(dir, 'fixed.yaml');
  fs.writeFileSync(fixed, `name: dl-config\ncommand: ["${process.execPath}", "-e", "console.log('fixed')"]\n`);
  const res = dtf('dlq', 'redrive', handle.workflowId, '--spec', fixed, '--reason', 'typo fixed');
  expect(res.status).toBe(0);
  const final = (await handle.result()) as TestTaskResult;
  expect(final.status).toBe('passed');
  expect(final.outputTail).toContain('fixed');
  expect(final.recoveryLog.map((e) => e.action)).toEqual(['compensate', 'fail', 'dead-letter', 'redrive']);
});

test('a parked task can be discarded with a reason, and only a parked one', async () => {
  const handle = await startTask(fleet.client, { name: 'dl-discard', command: node('scripts/bad-config.js') });
  await settledResult(handle, 250);
  const res = dtf('dlq', 'discard', handle.workflowId, '--reason', 'obsolete test');
  expect(res.status).toBe(0);
  const final = (await handle.result()) as TestTaskResult;
  expect(final.status).toBe('discarded');
  expect(final.reason).toBe('discarded: obsolete test');
  const again = dtf('dlq', 'discard', handle.workflowId, '--reason', 'twice');
  expect(again.status).toBe(2);
  await expect(handle.executeUpdate(discardUpdate, { args: [{ reason: 'x' }] })).rejects.toThrow();
});

test('a parked task expires after its retention with a clear final state', async () => {
  const r = await runTask(fleet.client, { name: 'dl-expire', command: node('scripts/bad-config.js'), deadLetterRetentionSeconds: 2 });
  expect(r.status).toBe('dead_lettered');
  const final = (await fleet.client.workflow.getHandle(r.workflowId).result()) as TestTaskResult;
  expect(final.status).toBe('expired');
  expect(final.reason).toMatch(/^expired in the dead letter queue/);
  void spec;
});

