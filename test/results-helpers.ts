/** Shared by the results store tests (SQLite and PostgreSQL): records whose rows the tests know. */
import type { ResultsStore } from '../src/results/store';
import { LATEST_SCHEMA_VERSION } from '../src/results/migrations';
import type { TaskRecordInput } from '../src/domain/task-record';

export const T0 = Date.parse('2026-11-30T10:00:00Z');
export const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

export function sampleRecord(overrides: Partial<TaskRecordInput> = {}): TaskRecordInput {
  return {
    workflowId: 'dtf-train-smoke-b1',
    task: 'train-smoke',
    batchId: 'b1',
    status: 'passed',
    hwClass: 'cuda',
    queue: 'dtf-cuda-24gb',
    host: 'gpu-2',
    labels: { suite: 'ml', owner: 'team-a' },
    startedAt: iso(0),
    endedAt: iso(60_000),
    durationMs: 60_000,
    exitCode: 0,
    attempts: [
      {
        n: 1, placement: 1, attemptInPlacement: 1, host: 'gpu-1', gpuModel: 'NVIDIA A10G', queue: 'dtf-cuda-24gb', outcome: 'error',
        category: 'HARDWARE_PERFORMANCE_ERROR', kind: 'resource', rule: 'gpu-xid', message: 'Xid 79: GPU has fallen off the bus',
        durationMs: 1200, startedAt: iso(1000), hardwareStatus: { overheating: true, memoryPressure: false, throttling: true, warnings: ['GPU 0 at 91 °C'] },
      },
      { n: 2, placement: 2, attemptInPlacement: 1, host: 'gpu-2', gpuModel: 'NVIDIA L4', queue: 'dtf-host-gpu-2', outcome: 'passed', durationMs: 50_000, startedAt: iso(5000) },
    ],
    recoveryActions: [
      { at: iso(2500), placement: 1, attempt: 1, host: 'gpu-1', queue: 'dtf-cuda-24gb', category: 'HARDWARE_PERFORMANCE_ERROR', action: 'relocate', to: 'dtf-host-gpu-2', reason: 'host-attributed error' },
    ],
    tests: {
      total: 40, passed: 37, failed: 1, errored: 0, skipped: 1, flaky: 1, quarantined: 0, casesOmitted: 0,
      cases: [
        { id: 'tests.test_model::test_loss', status: 'failed', message: 'AssertionError: loss 0.9 > 0.5', durationMs: 1500, host: 'gpu-2' },
        { id: 'tests.test_model::test_cuda', status: 'flaky', message: 'CUDA error: illegal memory access', durationMs: 800, host: 'gpu-2', runs: [{ status: 'failed', host: 'gpu-1' }, { status: 'passed', host: 'gpu-2' }] },
        { id: 'tests.test_model::test_skip', status: 'skipped', message: 'needs 2 GPUs', durationMs: 0 },
      ],
      slowest: [{ id: 'tests.test_model::test_train', durationMs: 20_000 }],
    },
    ...overrides,
  };
}

/** The same checks for every backend. */
export async function checkStoreContract(store: ResultsStore): Promise<void> {
  expect(await store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
  const rec = sampleRecord();
  await store.writeTask(rec);
  await store.writeTask(rec); // a retried write
  expect(await store.countTasks()).toBe(1);
  let w = await store.loadWindow();
  expect(w.tasks).toHaveLength(1);
  expect(w.tasks[0]).toMatchObject({
    workflowId: 'dtf-train-smoke-b1', task: 'train-smoke', batchId: 'b1', status: 'passed', hwClass: 'cuda', host: 'gpu-2',
    labels: { suite: 'ml', owner: 'team-a' }, startedAt: T0, endedAt: T0 + 60_000, durationMs: 60_000, attemptCount: 2, deadLettered: false,
    tests: { total: 40, passed: 37, failed: 1, skipped: 1, flaky: 1, casesOmitted: 0, slowest: [{ id: 'tests.test_model::test_train', durationMs: 20_000 }] },
  });
  expect(w.attempts.map((a) => `${a.n}:${a.host}:${a.gpuModel}:${a.outcome}:${a.category ?? '-'}`)).toEqual([
    '1:gpu-1:NVIDIA A10G:error:HARDWARE_PERFORMANCE_ERROR',
    '2:gpu-2:NVIDIA L4:passed:-',
  ]);
  expect(w.errorReports).toEqual([
    {
      workflowId: 'dtf-train-smoke-b1', attemptN: 1, category: 'HARDWARE_PERFORMANCE_ERROR', kind: 'resource', rule: 'gpu-xid', host: 'gpu-1',
      gpuModel: 'NVIDIA A10G', message: 'Xid 79: GPU has fallen off the bus', overheating: true, memoryPressure: false, throttling: true,
      hardwareWarnings: ['GPU 0 at 91 °C'], at: T0 + 1000,
    },
  ]);
  expect(w.recoveryActions).toEqual([
    { workflowId: 'dtf-train-smoke-b1', seq: 1, at: T0 + 2500, placement: 1, attempt: 1, host: 'gpu-1', queue: 'dtf-cuda-24gb', category: 'HARDWARE_PERFORMANCE_ERROR', action: 'relocate', to: 'dtf-host-gpu-2', reason: 'host-attributed error' },
  ]);
  expect(w.testCases.map((c) => `${c.caseId}:${c.status}`)).toEqual(['tests.test_model::test_loss:failed', 'tests.test_model::test_cuda:flaky', 'tests.test_model::test_skip:skipped']);
  expect(w.testCases[1].runs).toEqual([{ status: 'failed', host: 'gpu-1' }, { status: 'passed', host: 'gpu-2' }]);

  // Written again with a new outcome (a redriven task): replaced as a whole, nothing left of the old rows.
  await store.writeTask(sampleRecord({ status: 'failed', attempts: [{ n: 1, host: 'gpu-3', outcome: 'failed', category: 'TEST_EXECUTION_ERROR' }], recoveryActions: [], tests: undefined, labels: {} }));
  w = await store.loadWindow();
  expect(w.tasks).toHaveLength(1);
  expect(w.tasks[0]).toMatchObject({ status: 'failed', attemptCount: 1, labels: {} });
  expect(w.tasks[0].tests).toBeUndefined();
  expect(w.attempts).toHaveLength(1);
  expect(w.errorReports.map((e) => e.category)).toEqual(['TEST_EXECUTION_ERROR']);
  expect(w.recoveryActions).toEqual([]);
  expect(w.testCases).toEqual([]);

  // Windows: by end time and by batch.
  await store.writeTask(sampleRecord({ workflowId: 'dtf-later-b2', task: 'later', batchId: 'b2', startedAt: iso(3_600_000), endedAt: iso(3_660_000) }));
  expect((await store.loadWindow({ sinceMs: T0 + 3_600_000 })).tasks.map((t) => t.workflowId)).toEqual(['dtf-later-b2']);
  const b1 = await store.loadWindow({ batchId: 'b1' });
  expect(b1.tasks.map((t) => t.workflowId)).toEqual(['dtf-train-smoke-b1']);
  expect(new Set(b1.attempts.map((a) => a.workflowId))).toEqual(new Set(['dtf-train-smoke-b1']));
  expect((await store.loadWindow({ sinceMs: T0 + 10_000_000 })).tasks).toEqual([]);

  // Concurrent writes of different tasks all land; a bad record is refused before anything is written.
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.writeTask(sampleRecord({ workflowId: `dtf-par-${i}`, task: `par-${i}` }))));
  expect(await store.countTasks()).toBe(22);
  await expect(store.writeTask({ ...sampleRecord({ workflowId: 'dtf-bad' }), status: 'weird' as never })).rejects.toThrow(/status/);
  expect(await store.countTasks()).toBe(22);
}
