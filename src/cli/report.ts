/** `dtf report`: fleet analytics and recommendations from the results store (no Temporal server needed). */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Report, buildReport } from '../results/analytics';
import { REPORT_FORMATS, ReportFormat, renderReport } from '../results/render';
import { ResultsStoreMissingError, openResultsStore, resolveResultsDb } from '../results/store';

/** An error the CLI ends with, and its exit code (2: bad input or no store). */
export class ReportError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30m`, `24h`, `7d`, `2w`, or an ISO date/time → the window's start (epoch ms). */
export function parseSince(value: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)\s*([mhdw])$/i.exec(value.trim());
  if (m) return now - Number(m[1]) * UNITS[m[2].toLowerCase()];
  const t = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(t)) return t;
  throw new InvalidArgumentError(`--since "${value}": expected a duration such as 30m, 24h, 7d, 2w, or an ISO date`);
}

export interface GenerateReportOptions {
  /** DTF_RESULTS_DB-style URL; default $DTF_RESULTS_DB, else sqlite:.dtf/results.db. */
  db?: string;
  /** Duration or ISO date; default 24h, or the whole batch when `batch` is given. */
  since?: string;
  batch?: string;
  format?: ReportFormat;
  /** Also write the rendering here (directories are made). */
  out?: string;
  top?: number;
  now?: number;
}

/** Reads the store and renders the report; what `dtf report` and the demo call. */
export async function generateReport(o: GenerateReportOptions = {}): Promise<{ report: Report; output: string; outFile?: string }> {
  const now = o.now ?? Date.now();
  const sinceMs = o.since !== undefined ? parseSince(o.since, now) : o.batch ? undefined : parseSince('24h', now);
  let location;
  try {
    location = resolveResultsDb(o.db);
  } catch (err) {
    throw new ReportError((err as Error).message, 2);
  }
  let store;
  try {
    store = await openResultsStore(o.db, { mustExist: true });
  } catch (err) {
    if (err instanceof ResultsStoreMissingError) {
      throw new ReportError(`${err.message}: workers record finished tasks there; set DTF_RESULTS_DB or --db to read another store`, 2);
    }
    throw new ReportError(`cannot open the results store ${location.kind === 'sqlite' ? location.path : 'PostgreSQL'}: ${(err as Error).message}`, 2);
  }
  try {
    const window = await store.loadWindow({ sinceMs, untilMs: now + 1, batchId: o.batch });
    const report = buildReport(window, { sinceMs, untilMs: now, batchId: o.batch, store: store.location, top: o.top, now });
    const output = renderReport(report, o.format ?? 'text');
    let outFile: string | undefined;
    if (o.out) {
      outFile = path.resolve(o.out);
      fs.mkdirSync(path.dirname(outFile), { recursive: true });
      fs.writeFileSync(outFile, output);
    }
    return { report, output, outFile };
  } finally {
    await store.close();
  }
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`--top must be a positive integer, got "${v}"`);
  return n;
};

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('fleet analytics from the results store: outcomes, error trends, recovery, flaky/slow/failing tests, hosts out of line, recommendations')
    .option('--since <when>', 'window start: 30m, 24h, 7d, 2w or an ISO date (default 24h; the whole batch with --batch)', (v: string) => {
      parseSince(v);
      return v;
    })
    .option('--batch <id>', 'only this batch (dtf submit --batch-id)')
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('text'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--db <url>', 'results store: sqlite:PATH or postgres://… (default: $DTF_RESULTS_DB, else sqlite:.dtf/results.db)')
    .option('--top <n>', 'rows in each top list', positiveInt, 10)
    .action(async (o: { since?: string; batch?: string; format: ReportFormat; out?: string; db?: string; top: number }) => {
      const { output, outFile, report } = await generateReport(o);
      if (outFile) console.log(`wrote ${outFile} (${report.tasks.total} task(s), ${report.recommendations.length} recommendation(s))`);
      else process.stdout.write(output);
    });
}
