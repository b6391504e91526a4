/**
 * The foundation on a real local Temporal server with real worker processes: pass, fail, placement by GPU memory,
 * no eligible host, and the submit script's validation.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DtfHost, DtfStatus } from '../../src/domain/search-attributes';
import { LocalFleet, DTF_BIN } from '../../src/server/local-fleet';
import { EXAMPLES, node, runTask, startTestFleet, testAddress } from '../helpers';

let fleet: LocalFleet;

beforeAll(async () => {
  fleet = await startTestFleet([
    { hostId: 'it-cpu' },
    { hostId: 'it-gpu-8', simulateGpus: ['RTX-3070:8:8.6'] },
    { hostId: 'it-gpu-24', simulateGpus: ['RTX-4090:24:8.9'] },
  ]);
});

afterAll(async () => {
  await fleet?.stop();
});

test('a passing command ends passed with exit code 0 and its output', async () => {
  const r = await runTask(fleet.client, { name: 'passes', command: [process.execPath, '-e', 'console.log("hello from the test")'] });
  expect(r.status).toBe('passed');
  expect(r.exitCode).toBe(0);
  expect(r.outputTail).toContain('hello from the test');
  expect(r.attempts).toBe(1);
  const desc = await fleet.client.workflow.getHandle(r.workflowId).describe();
  expect(desc.typedSearchAttributes.get(DtfStatus)).toBe('passed');
  expect(desc.typedSearchAttributes.get(DtfHost)).toBe(r.hostId);
});

test('a failing test ends failed with its exit code, without infrastructure retries', async () => {
  const r = await runTask(fleet.client, { name: 'fails', command: [process.execPath, '--test', path.join(EXAMPLES, 'tests', 'regression.test.js')] });
  expect(r.status).toBe('failed');
  expect(r.exitCode).toBe(1);
  expect(r.category).toBe('TEST_EXECUTION_ERROR');
  expect(r.attempts).toBe(1);
  expect(r.recoveryLog.map((e) => e.action)).toEqual(['compensate', 'record-test-failure']);
});

test('a CUDA task that needs 16 GB lands only on the 24 GB host', async () => {
  const hosts = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await runTask(fleet.client, {
      name: `needs-16gb-${i}`,
      command: node('scripts/train.js', '--needs-gb', '14', '--steps', '1'),
      hardware: { class: 'cuda', minGpuMemoryGb: 16 },
    });
    expect(r.status).toBe('passed');
    hosts.add(r.hostId!);
  }
  expect([...hosts]).toEqual(['it-gpu-24']);
});

test('a CUDA task served by no host ends with a clear reason within its placement timeout', async () => {
  const started = Date.now();
  const r = await runTask(fleet.client, {
    name: 'needs-80gb',
    command: [process.execPath, '-e', '0'],
    hardware: { class: 'cuda', minGpuMemoryGb: 80 },
    placementTimeoutSeconds: 2,
  });
  expect(r.status).toBe('dead_lettered');
  expect(r.category).toBe('HARDWARE_AVAILABILITY_ERROR');
  expect(r.reason).toMatch(/no eligible host picked the task up on dtf-cuda-80gb.*allows no fallback/);
  expect(Date.now() - started).toBeLessThan(15_000);
});

test('dtf submit rejects a bad file with exit code 2, naming the field, and starts nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-bad-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'tasks:\n  - name: ok-one\n    command: [true]\n  - name: bad-one\n    command: "pytest -q"\n    hardware: { class: tpu }\n');
  const batch = `bad-${Date.now()}`;
  const res = spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), 'submit', file, '--batch-id', batch], { encoding: 'utf8' });
  expect(res.status).toBe(2);
  expect(res.stderr).toContain('tasks[1].command: Expected array, received string');
  expect(res.stderr).toContain('tasks[1].hardware.class');
  expect(res.stderr).toContain('nothing was started');
  const started = await fleet.client.workflow.count(`DtfRunId = '${batch}'`);
  expect(started.count).toBe(0);
});

test('dtf submit --wait --json runs a batch and exits 1 when a task did not pass', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-batch-'));
  const file = path.join(dir, 'batch.yaml');
  fs.writeFileSync(
    file,
    `tasks:\n  - name: b-pass\n    command: ["${process.execPath}", "-e", "0"]\n  - name: b-fail\n    command: ["${process.execPath}", "-e", "process.exit(3)"]\n`,
  );
  const res = spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), 'submit', file, '--json'], { encoding: 'utf8' });
  expect(res.status).toBe(1);
  const results = JSON.parse(res.stdout) as { name: string; status: string; exitCode: number | null }[];
  expect(results.map((r) => [r.name, r.status === 'passed', r.exitCode])).toEqual([
    ['b-pass', true, 0],
    ['b-fail', false, 3],
  ]);
});
