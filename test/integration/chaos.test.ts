/**
 * Chaos, bounded: 50 tasks with mixed injected faults on 3 real worker processes, one worker SIGKILLed and the
 * server restarted mid-run. The run has a server of its own (free port, --db-filename in a temp dir), not the
 * suite's shared one: restarting that would disturb nothing else, but its state must survive the restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatChaosReport, runChaos } from '../../bench/chaos-run';

const LOG_DIR = path.join(process.env.DTF_TEST_LOG_DIR ?? path.join(__dirname, '..', '..', '.dtf', 'test-logs'), 'chaos');

test('a chaos batch: every task accounted for, none lost, nothing left on any host, recoverable faults recovered', async () => {
  fs.rmSync(LOG_DIR, { recursive: true, force: true }); // this run's logs only
  const progress: string[] = [];
  const report = await runChaos({ tasks: 50, workers: 3, seed: 7, logDir: LOG_DIR, log: (m) => progress.push(m) });
  // The figures show in CI output, pass or fail.
  console.log(`${progress.join('\n')}\n${formatChaosReport(report)}`);

  expect(report.lostTasks).toEqual([]);
  expect(report.lost).toBe(0);
  // Every task ended passed, test-failed, or dead-lettered; nothing else.
  expect(report.other).toBe(0);
  expect(report.passed + report.testFailed + report.deadLettered).toBe(report.tasks);
  expect(report.deadLetteredWithoutReason).toEqual([]);
  for (const row of report.rows.filter((r) => r.status === 'dead_lettered')) {
    expect(row.reason).toBeTruthy();
    expect(row.category).toMatch(/^[A-Z_]+$/);
  }
  expect(report.discarded).toBe(report.deadLettered); // the DLQ still answers after the restart

  expect(report.leftoverItems).toEqual({});
  expect(report.leftovers).toBe(0);

  // The chaos really happened: faults drawn, a worker killed with work on it, the server restarted and rejoined.
  expect(report.faultsInjected).toBeGreaterThan(0);
  expect(report.kill?.runningTasks.length).toBeGreaterThan(0);
  expect(report.serverRestart?.workersNotReconnected).toEqual([]);
  expect(report.recovered).toBeGreaterThan(0);
  // Tasks no fault touched ended as designed (a server restart alone must not move or dead-letter anything).
  expect(report.unexplained).toEqual([]);
  // Designed outcomes that no fault can change: injected test failures are failed, missing modules and bad config dead-lettered.
  const failedTests = report.rows.filter((r) => r.kind === 'test-failure');
  expect(failedTests.filter((r) => r.status === 'failed').length).toBeGreaterThan(0);
  for (const r of report.rows.filter((r) => r.kind === 'dead-letter')) expect(r.status).toBe('dead_lettered');
}, 240_000);
