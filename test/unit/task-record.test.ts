import { TaskRecord, taskRecordFromResult } from '../../src/domain/task-record';
import type { TestTaskResult } from '../../src/domain/task-result';

const base: TestTaskResult = {
  name: 'train', workflowId: 'dtf-train-b1', status: 'passed', exitCode: 0, durationMs: 9000, hostId: 'gpu-2', hwClass: 'cuda',
  queue: 'dtf-host-gpu-2', outputTail: '', attempts: 3, placements: [], recoveryLog: [
    { at: '2026-11-30T10:00:01.000Z', placement: 1, attempt: 1, hostId: 'gpu-1', queue: 'dtf-cuda-24gb', category: 'NETWORK_TIMEOUT_ERROR', kind: 'transient', rule: 'read-timeout', action: 'retry-in-place', delayMs: 1000, reason: 'read timed out' },
    { at: '2026-11-30T10:00:03.000Z', placement: 1, attempt: 2, hostId: 'gpu-1', queue: 'dtf-cuda-24gb', category: 'HARDWARE_PERFORMANCE_ERROR', kind: 'resource', rule: 'gpu-xid', action: 'relocate', to: 'dtf-host-gpu-2', reason: 'Xid 79' },
  ],
};
const ctx = { startedAt: '2026-11-30T10:00:00.000Z', endedAt: '2026-11-30T10:00:09.000Z', batchId: 'b1', labels: { suite: 'ml' } };

describe('taskRecordFromResult', () => {
  it('a passed task: its failed attempts from the recovery log, then the passing one', () => {
    const rec = TaskRecord.parse(taskRecordFromResult(base, ctx));
    expect(rec.attempts.map((a) => `${a.n}:${a.host}:${a.outcome}:${a.category ?? '-'}`)).toEqual(['1:gpu-1:error:NETWORK_TIMEOUT_ERROR', '2:gpu-1:error:HARDWARE_PERFORMANCE_ERROR', '3:gpu-2:passed:-']);
    expect(rec.recoveryActions.map((a) => a.action)).toEqual(['retry-in-place', 'relocate']);
    expect(rec).toMatchObject({ workflowId: 'dtf-train-b1', task: 'train', batchId: 'b1', status: 'passed', labels: { suite: 'ml' }, deadLettered: false });
  });

  it('a dead-lettered task keeps the last report\'s GPU model and hardware status on its last attempt', () => {
    const rec = TaskRecord.parse(
      taskRecordFromResult(
        {
          ...base, status: 'dead_lettered', hostId: 'gpu-1', category: 'HARDWARE_PERFORMANCE_ERROR', reason: 'no host left', recoveryLog: base.recoveryLog.slice(1),
          report: { ids: { hostId: 'gpu-1' }, message: 'Xid 79', systemContext: { gpus: [{ name: 'NVIDIA A10G' }] }, hardwareStatus: { overheating: true, memoryPressure: false, throttling: false, warnings: ['hot'] } },
        },
        ctx,
      ),
    );
    expect(rec.attempts).toHaveLength(1);
    expect(rec.attempts[0]).toMatchObject({ gpuModel: 'NVIDIA A10G', hardwareStatus: { overheating: true, warnings: ['hot'] }, message: 'Xid 79' });
    expect(rec).toMatchObject({ status: 'dead_lettered', deadLettered: true, category: 'HARDWARE_PERFORMANCE_ERROR' });
  });

  it('a test failure recorded without retries is one failed attempt', () => {
    const rec = TaskRecord.parse(
      taskRecordFromResult({ ...base, status: 'failed', exitCode: 1, recoveryLog: [{ at: ctx.startedAt, placement: 1, attempt: 1, hostId: 'cpu-1', queue: 'dtf-cpu', category: 'TEST_EXECUTION_ERROR', action: 'record-test-failure', reason: '2 failed' }] }, ctx),
    );
    expect(rec.attempts.map((a) => `${a.host}:${a.outcome}`)).toEqual(['cpu-1:failed']);
  });

  it('a very long recovery log is cut to its last entries, so the record stays valid and small', () => {
    const log = Array.from({ length: 700 }, (_, i) => ({ at: ctx.startedAt, placement: 1, attempt: i + 1, hostId: 'gpu-1', queue: 'q', category: 'NETWORK_TIMEOUT_ERROR', action: 'retry-in-place', reason: 'x'.repeat(5000) }));
    const rec = TaskRecord.parse(taskRecordFromResult({ ...base, recoveryLog: log }, ctx));
    expect(rec.recoveryActions).toHaveLength(500);
    expect(rec.recoveryActions[499].attempt).toBe(700);
    expect(rec.attempts).toHaveLength(500);
    expect(JSON.stringify(rec).length).toBeLessThan(700_000);
  });
});
