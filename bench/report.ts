/**
 * `npm run bench:report-store`: the results store's write cost per task and `dtf report`'s time over N stored tasks
 * (default 10,000 seeded, realistic records: bench/seed-results.ts). Options after `--`: `--tasks N`,
 * `--db URL` (default: a fresh SQLite file in a temp dir; a postgres:// URL measures PostgreSQL), `--seed S`,
 * `--runs R` (report runs per format, median kept). Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateReport } from '../src/cli/report';
import { buildReport } from '../src/results/analytics';
import { REPORT_FORMATS } from '../src/results/render';
import { openResultsStore } from '../src/results/store';
import { seedRecords } from './seed-results';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const r2 = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const tasks = Number(arg('tasks', '10000'));
  const seed = Number(arg('seed', '42'));
  const runs = Number(arg('runs', '3'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-bench-report-'));
  const db = arg('db', `sqlite:${path.join(tmp, 'results.db')}`);
  const now = Date.parse('2026-11-30T12:00:00Z');
  try {
    const records = seedRecords(tasks, { seed, now });
    const store = await openResultsStore(db);
    console.log(`writing ${records.length} tasks to ${store.location} …`);
    const perTask: number[] = [];
    const t0 = performance.now();
    for (const r of records) {
      const s = performance.now();
      await store.writeTask(r); // one transaction per task, as the recordTaskResult activity does
      perTask.push(performance.now() - s);
    }
    const writeTotal = performance.now() - t0;
    // A retried write of every 10th task: replaces, never duplicates.
    for (let i = 0; i < records.length; i += 10) await store.writeTask(records[i]);
    const stored = await store.countTasks();
    if (stored < records.length) throw new Error(`stored ${stored} of ${records.length}`);

    const loadMs: number[] = [];
    const analyzeMs: number[] = [];
    let window = await store.loadWindow({});
    for (let i = 0; i < runs; i++) {
      let s = performance.now();
      window = await store.loadWindow({ sinceMs: now - 24 * 3_600_000 - 3_600_000, untilMs: now + 1 });
      loadMs.push(performance.now() - s);
      s = performance.now();
      buildReport(window, { sinceMs: now - 25 * 3_600_000, untilMs: now, now });
      analyzeMs.push(performance.now() - s);
    }
    await store.close();

    const reportMs: Record<string, number> = {};
    let recommendations = 0;
    for (const format of REPORT_FORMATS) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        const { report, output } = await generateReport({ db, since: '25h', format, now, out: path.join(tmp, `report.${format}`) });
        times.push(performance.now() - s);
        recommendations = report.recommendations.length;
        if (!output.length) throw new Error(`empty ${format} report`);
      }
      reportMs[format] = r2(median(times));
    }
    const sizes = Object.fromEntries(REPORT_FORMATS.map((f) => [f, fs.statSync(path.join(tmp, `report.${f}`)).size]));
    const dbBytes = db.startsWith('sqlite:') ? fs.statSync(db.slice('sqlite:'.length)).size : undefined;

    console.log(`write: ${r2(writeTotal / records.length)} ms/task mean (p50 ${r2(q(perTask, 0.5))}, p95 ${r2(q(perTask, 0.95))}), ${Math.round(records.length / (writeTotal / 1000))} tasks/s`);
    console.log(`report over ${window.tasks.length} tasks (${window.attempts.length} attempts, ${window.testCases.length} stored cases): load ${r2(median(loadMs))} ms, analyse ${r2(median(analyzeMs))} ms; end to end ${REPORT_FORMATS.map((f) => `${f} ${reportMs[f]} ms`).join(', ')}`);
    console.log(`outputs: ${REPORT_FORMATS.map((f) => `${f} ${Math.round(sizes[f] / 1024)} KiB`).join(', ')}${dbBytes ? `; store ${Math.round(dbBytes / 1024 / 1024)} MiB` : ''}; ${recommendations} recommendations`);
    console.log(
      JSON.stringify({
        backend: db.startsWith('sqlite:') ? 'sqlite' : 'postgres',
        tasks: records.length,
        attempts: window.attempts.length,
        storedCases: window.testCases.length,
        writeMsPerTask: { mean: r2(writeTotal / records.length), p50: r2(q(perTask, 0.5)), p95: r2(q(perTask, 0.95)) },
        reportMs,
        loadMs: r2(median(loadMs)),
        analyseMs: r2(median(analyzeMs)),
        dbBytes,
        recommendations,
      }),
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
