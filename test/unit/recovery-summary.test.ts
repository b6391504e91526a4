/** The batch table's RECOVERY cell: short enough to read, and it still says how the task ended. */
import { recoverySummary } from '../../src/cli/submit';
import type { RecoveryLogEntry } from '../../src/domain/task-result';

const at = '2026-12-01T00:00:00.000Z';
const entry = (action: RecoveryLogEntry['action'], extra: Partial<RecoveryLogEntry> = {}): RecoveryLogEntry => ({ at, placement: 1, queue: 'dtf-cpu', action, reason: 'r', ...extra });

describe('recoverySummary', () => {
  it('leaves out undos that went well and counts repeats', () => {
    const log = [
      entry('compensate', { reason: 'undone in reverse: workspace' }),
      entry('retry-in-place'),
      entry('compensate', { reason: 'undone in reverse: workspace' }),
      entry('retry-in-place'),
      entry('relocate', { to: 'dtf-host-b' }),
      entry('fail'),
      entry('dead-letter'),
    ];
    expect(recoverySummary(log)).toBe('retry-in-place×2, relocate→dtf-host-b, fail, dead-letter');
  });
  it('keeps a failed undo', () => {
    expect(recoverySummary([entry('compensate', { reason: 'undo failed: teardown db (exit 1, 3 attempts)' })])).toBe('compensate');
  });
  it('cuts a long story but keeps its end', () => {
    const log = Array.from({ length: 12 }, (_, i) => [entry('retry-in-place'), entry('relocate', { to: `dtf-host-h${i}` })]).flat();
    log.push(entry('dead-letter'));
    const cell = recoverySummary(log, 60);
    expect(cell.length).toBeLessThan(110);
    expect(cell).toMatch(/more\), dead-letter$/);
    expect(cell.startsWith('retry-in-place, relocate→dtf-host-h0')).toBe(true);
  });
  it('an empty log is empty', () => {
    expect(recoverySummary([entry('attempt-started')])).toBe('');
  });
});
