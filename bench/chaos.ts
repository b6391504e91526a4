/**
 * Chaos at scale: the test suite's chaos run (bench/chaos-run.ts) with a larger batch. Own server on a free
 * port with a --db-filename, real worker processes, mixed injected faults, one worker SIGKILLed and the server
 * restarted mid-run. Prints progress, the figures, then as its last line one JSON object. Exits 1 when a task was
 * lost or something was left on a host.
 * Usage: node dist/bench/chaos.js [--tasks 200] [--workers 4] [--seed 1] [--max-tasks 2] [--log-dir DIR] [--timeout-s S] [--stall-s S]
 *        [--report FILE]
 * --timeout-s: limit for the batch (default 120 s + 3 s per task and worker); --stall-s: give up when no task has settled
 * for this long (default 90 s); what has not settled then counts as lost. --report writes the whole report (a row per task) as JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatChaosReport, runChaos } from './chaos-run';
import { REPO_ROOT } from '../src/server/temporal-cli';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function intArg(name: string, dflt: number): number {
  const text = arg(name);
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got "${text}"`);
  return n;
}

/** A number of seconds, as milliseconds; undefined when not given (the run's default). */
function msArg(name: string): number | undefined {
  return arg(name) === undefined ? undefined : intArg(name, 0) * 1000;
}

async function main() {
  const tasks = intArg('tasks', 200);
  const workers = intArg('workers', 4);
  const logDir = arg('log-dir') ?? path.join(REPO_ROOT, '.dtf', 'chaos-logs', new Date().toISOString().replace(/[:.]/g, '-'));
  const report = await runChaos({
    tasks,
    workers,
    seed: intArg('seed', 1),
    maxTasksPerWorker: intArg('max-tasks', 2),
    settleTimeoutMs: msArg('timeout-s'),
    stallTimeoutMs: msArg('stall-s'),
    logDir,
    log: (m) => console.log(m),
  });
  console.log(formatChaosReport(report));
  const reportFile = arg('report');
  if (reportFile) fs.writeFileSync(reportFile, JSON.stringify(report, null, 2));
  console.log(
    JSON.stringify({
      tasks: report.tasks,
      faultsInjected: report.faultsInjected,
      recovered: report.recovered,
      testFailed: report.testFailed,
      deadLettered: report.deadLettered,
      lost: report.lost,
      leftovers: report.leftovers,
      seconds: report.seconds,
      passed: report.passed,
      other: report.other,
      recoverableHit: report.recoverableHit,
      recoveryRate: report.recoveryRate,
      unexplained: report.unexplained.length,
      faultsByCategory: report.faultsByCategory,
      workers: report.workers,
      seed: report.seed,
      batchSeconds: report.batchSeconds,
      kill: report.kill && { hostId: report.kill.hostId, atSeconds: report.kill.atSeconds, runningTasks: report.kill.runningTasks.length, leftBehind: report.kill.leftBehind.length },
      serverRestart: report.serverRestart,
      lostTasks: report.lostTasks.map((l) => l.name),
      gaveUp: report.gaveUp,
    }),
  );
  if (report.lost > 0 || report.leftovers > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
