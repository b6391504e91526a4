/**
 * Per-test-case results: the bounded `tests` summary a task result carries, and pure functions over it — merging the
 * attempts of a task's reruns into flaky detection, quarantine, per-case health over a window of runs, and the score
 * that tells a flaky *host* from a flaky *test*. Workflow-safe: zod only, no Node APIs.
 *
 * Bounds (so a result stays far below Temporal's 2 MB payload limit; counts stay exact whatever is left out):
 * at most MAX_LISTED_CASES (200) cases, ids of at most MAX_CASE_ID_CHARS (300), messages of at most
 * MAX_CASE_MESSAGE_CHARS (500), at most MAX_CASE_RUNS (10) runs per case and MAX_SLOWEST_CASES (10) slowest cases:
 * about 200 × (300 + 500 + 10 × 60) ≈ 280 KB in the very worst case, typically a few KB.
 */
import { z } from 'zod';

export const MAX_LISTED_CASES = 200;
export const MAX_CASE_ID_CHARS = 300;
export const MAX_CASE_MESSAGE_CHARS = 500;
export const MAX_CASE_RUNS = 10;
export const MAX_SLOWEST_CASES = 10;

/** `flaky`: failed (or errored) at least once and then passed, in reruns of one task or inside the runner (Surefire). */
export const CASE_STATUSES = ['passed', 'failed', 'errored', 'skipped', 'flaky'] as const;
export const CaseStatus = z.enum(CASE_STATUSES);
export type CaseStatus = z.infer<typeof CaseStatus>;

/** One execution of a case: in one attempt of the task, or one rerun inside the runner. */
export const CaseRun = z.object({
  status: z.enum(['passed', 'failed', 'errored', 'skipped']),
  host: z.string().max(100).optional(),
});
export type CaseRun = z.infer<typeof CaseRun>;

export const TestCase = z.object({
  /** `classname::name` (just `name` when the report has no classname). */
  id: z.string().min(1).max(MAX_CASE_ID_CHARS),
  status: CaseStatus,
  /** Excerpt of the failure/error/skip message: its first MAX_CASE_MESSAGE_CHARS characters. */
  message: z.string().max(MAX_CASE_MESSAGE_CHARS).optional(),
  durationMs: z.number().finite().nonnegative(),
  /** The host of the run this entry describes (the last one). */
  host: z.string().max(100).optional(),
  /** Quarantined by the user: its failures are counted but do not fail the task. */
  quarantined: z.boolean().optional(),
  /** Its runs in order, when there was more than one (reruns). */
  runs: z.array(CaseRun).max(MAX_CASE_RUNS).optional(),
});
export type TestCase = z.infer<typeof TestCase>;

const Count = z.number().int().nonnegative();

/**
 * The `tests` field of a result. The counts partition `total`: passed + failed + errored + skipped + flaky = total
 * (a flaky case is counted once, as flaky, not as passed). `cases` lists every non-passing and every flaky case up to
 * MAX_LISTED_CASES, failed and errored first, then flaky, then skipped; `casesOmitted` says how many were left out.
 * `quarantined` counts quarantined cases that failed or errored (they are in `failed`/`errored` too).
 */
export const TestsSummary = z.object({
  total: Count,
  passed: Count,
  failed: Count,
  errored: Count,
  skipped: Count,
  flaky: Count,
  quarantined: Count.default(0),
  cases: z.array(TestCase).max(MAX_LISTED_CASES),
  casesOmitted: Count.default(0),
  /** The slowest cases of the run, any status (only `id` and `durationMs` are meaningful for passed ones). */
  slowest: z.array(z.object({ id: z.string().min(1).max(MAX_CASE_ID_CHARS), durationMs: z.number().finite().nonnegative() })).max(MAX_SLOWEST_CASES).default([]),
});
export type TestsSummary = z.infer<typeof TestsSummary>;
export type TestsSummaryInput = z.input<typeof TestsSummary>;

/** A case as a report parser yields it: every case, passed ones included, unbounded. */
export interface ParsedCase {
  id: string;
  status: CaseStatus;
  message?: string;
  durationMs: number;
  /** Runner-level reruns (Surefire rerunFailure/flakyFailure), in order, the final one last. */
  runs?: CaseRun[];
}

export function caseId(classname: string | undefined, name: string): string {
  const c = (classname ?? '').trim();
  const n = name.trim() || '(unnamed)';
  return clip(c ? `${c}::${n}` : n, MAX_CASE_ID_CHARS);
}

export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}

/** A message excerpt: whitespace runs folded, the first MAX_CASE_MESSAGE_CHARS characters. */
export function excerpt(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  const folded = message.replace(/\s+/g, ' ').trim();
  return folded ? clip(folded, MAX_CASE_MESSAGE_CHARS) : undefined;
}

const LIST_PRIORITY: Record<CaseStatus, number> = { failed: 0, errored: 0, flaky: 1, skipped: 2, passed: 3 };

/** Quarantine patterns: an exact case id, or one with `*` wildcards (`tests/test_net.py::*`). */
export function quarantineMatcher(patterns: readonly string[]): (id: string) => boolean {
  if (!patterns.length) return () => false;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns
    .filter((p) => p.includes('*'))
    .map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (id) => exact.has(id) || globs.some((g) => g.test(id));
}

export interface SummarizeOptions {
  /** Where this run happened: set on each listed case and its runs. */
  host?: string;
  /** Case ids or `*` patterns whose failures do not fail the task. */
  quarantine?: readonly string[];
}

/** The bounded summary of one run's cases (all of them, as parsed). Counts are exact; the list is bounded. */
export function summarizeCases(cases: readonly ParsedCase[], opts: SummarizeOptions = {}): TestsSummary {
  const quarantined = quarantineMatcher(opts.quarantine ?? []);
  const counts = { passed: 0, failed: 0, errored: 0, skipped: 0, flaky: 0 };
  let quarantinedFailures = 0;
  const listed: TestCase[] = [];
  for (const c of cases) {
    counts[c.status] += 1;
    const q = quarantined(c.id);
    if (q && (c.status === 'failed' || c.status === 'errored')) quarantinedFailures += 1;
    if (c.status === 'passed') continue;
    listed.push(
      stripUndefined({
        id: clip(c.id, MAX_CASE_ID_CHARS),
        status: c.status,
        message: excerpt(c.message),
        durationMs: roundMs(c.durationMs),
        host: opts.host,
        quarantined: q || undefined,
        runs: c.runs?.length ? boundRuns(c.runs.map((r) => stripUndefined({ ...r, host: r.host ?? opts.host }))) : undefined,
      }),
    );
  }
  const bounded = boundCaseList(listed);
  return {
    total: cases.length,
    ...counts,
    quarantined: quarantinedFailures,
    cases: bounded,
    casesOmitted: listed.length - bounded.length,
    slowest: [...cases]
      .sort((a, b) => b.durationMs - a.durationMs)
      .slice(0, MAX_SLOWEST_CASES)
      .map((c) => ({ id: clip(c.id, MAX_CASE_ID_CHARS), durationMs: roundMs(c.durationMs) })),
  };
}

function boundCaseList(listed: TestCase[]): TestCase[] {
  if (listed.length <= MAX_LISTED_CASES) return listed;
  return listed
    .map((c, i) => ({ c, i }))
    .sort((a, b) => LIST_PRIORITY[a.c.status] - LIST_PRIORITY[b.c.status] || a.i - b.i)
    .slice(0, MAX_LISTED_CASES)
    .map((x) => x.c);
}

/** Keeps the first run and the most recent ones: the first failure is the evidence a flaky verdict rests on. */
function boundRuns(runs: CaseRun[]): CaseRun[] {
  if (runs.length <= MAX_CASE_RUNS) return runs;
  return [runs[0], ...runs.slice(runs.length - (MAX_CASE_RUNS - 1))];
}

/** One attempt of a task that produced a report, in order: the rerun after a test failure is the next one. */
export interface AttemptTests {
  host?: string;
  tests: TestsSummary;
}

const isFailure = (s: CaseStatus | CaseRun['status']) => s === 'failed' || s === 'errored';

/**
 * Merges the summaries of a task's attempts (a run and its reruns) into one. The LAST attempt decides each case's
 * final status; a case that failed or errored in an earlier attempt and passed in the last one is `flaky`. A case the
 * last attempt does not list passed there, provided that attempt's list is complete (`casesOmitted` 0) — a runner
 * that reruns only the failed cases (`pytest --lf`) reports them as passed by leaving them out. Counts are the last
 * attempt's, with each case turned flaky moved from `passed` to `flaky`. Runs carry each attempt's host.
 */
export function mergeAttempts(attempts: readonly AttemptTests[], opts: { quarantine?: readonly string[] } = {}): TestsSummary | undefined {
  if (!attempts.length) return undefined;
  const quarantined = quarantineMatcher(opts.quarantine ?? []);
  const last = attempts[attempts.length - 1];
  if (attempts.length === 1) return applyQuarantine(last.tests, opts.quarantine ?? []);
  const lastComplete = last.tests.casesOmitted === 0;
  // Each case's runs across attempts: listed → its status (or its runner-level runs); not listed in an attempt whose
  // list is complete → passed there; not listed in a cut list → unknown for that attempt.
  const order: string[] = [];
  const latest = new Map<string, TestCase>();
  for (const a of attempts) {
    for (const c of a.tests.cases) {
      if (!latest.has(c.id)) order.push(c.id);
      latest.set(c.id, c);
    }
  }
  const listedIn = attempts.map((a) => new Map(a.tests.cases.map((c) => [c.id, c])));
  const runs = new Map<string, CaseRun[]>();
  for (const id of order) {
    const caseRuns: CaseRun[] = [];
    attempts.forEach((a, i) => {
      const c = listedIn[i].get(id);
      if (c) {
        const own = c.runs?.length ? c.runs : [{ status: c.status === 'flaky' ? ('passed' as const) : c.status, host: c.host }];
        caseRuns.push(...own.map((r) => stripUndefined({ status: r.status, host: r.host ?? c.host ?? a.host })));
      } else if (a.tests.casesOmitted === 0) {
        caseRuns.push(stripUndefined({ status: 'passed' as const, host: a.host }));
      }
    });
    runs.set(id, caseRuns);
  }
  const inLast = new Map(last.tests.cases.map((c) => [c.id, c]));
  let flakyMoved = 0;
  const merged: TestCase[] = [];
  for (const id of order) {
    const caseRuns = runs.get(id)!;
    const fromLast = inLast.get(id);
    const failedBefore = caseRuns.slice(0, -1).some((r) => isFailure(r.status));
    let status: CaseStatus;
    if (fromLast) {
      status = fromLast.status === 'passed' && failedBefore ? 'flaky' : fromLast.status;
    } else if (lastComplete) {
      status = failedBefore ? 'flaky' : 'passed';
      if (status === 'flaky') flakyMoved += 1;
    } else {
      continue; // not known for the last attempt: its list was cut
    }
    if (status === 'passed') continue;
    const source = fromLast ?? latest.get(id)!;
    merged.push(
      stripUndefined({
        ...source,
        status,
        host: fromLast?.host ?? caseRuns[caseRuns.length - 1]?.host ?? source.host,
        quarantined: quarantined(id) || source.quarantined || undefined,
        runs: caseRuns.length > 1 ? boundRuns(caseRuns) : undefined,
      }),
    );
  }
  const bounded = boundCaseList(merged);
  const t = last.tests;
  const summary: TestsSummary = {
    ...t,
    passed: Math.max(0, t.passed - flakyMoved),
    flaky: t.flaky + flakyMoved,
    cases: bounded,
    casesOmitted: t.casesOmitted + (merged.length - bounded.length),
  };
  return applyQuarantine(summary, opts.quarantine ?? []);
}

/**
 * Marks listed cases matching the patterns as quarantined; `quarantined` counts the failed/errored ones (at least
 * those listed; summarizeCases counts them exactly, before the list is cut).
 */
export function applyQuarantine(summary: TestsSummary, patterns: readonly string[]): TestsSummary {
  if (!patterns.length) return summary;
  const q = quarantineMatcher(patterns);
  const cases = summary.cases.map((c) => (c.quarantined || q(c.id) ? { ...c, quarantined: true } : c));
  const quarantined = cases.filter((c) => c.quarantined && isFailure(c.status)).length;
  return { ...summary, cases, quarantined: Math.max(quarantined, summary.quarantined) };
}

export interface TestsVerdict {
  /** `failed` when a failed or errored case is not quarantined (or may not be: one left out of the list). */
  status: 'passed' | 'failed';
  failing: string[];
  quarantinedFailing: string[];
  flaky: string[];
}

/** Whether a task's tests fail it: failures of quarantined cases and flaky cases do not. */
export function testsVerdict(summary: TestsSummary): TestsVerdict {
  const failingListed = summary.cases.filter((c) => isFailure(c.status));
  const failing = failingListed.filter((c) => !c.quarantined).map((c) => c.id);
  const quarantinedFailing = failingListed.filter((c) => c.quarantined).map((c) => c.id);
  const unlisted = summary.failed + summary.errored - failingListed.length;
  return {
    status: failing.length || unlisted > 0 ? 'failed' : 'passed',
    failing,
    quarantinedFailing,
    flaky: summary.cases.filter((c) => c.status === 'flaky').map((c) => c.id),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Across runs: per-case health and host attribution.

/** One finished task run with its tests, as the store gives it back: enough to tell each case's outcome in it. */
export interface TaskTestsRun {
  task: string;
  runId: string;
  /** ISO or epoch ms; runs are ordered by it. */
  at: number;
  /** The host of its last attempt (where unlisted cases passed). */
  host?: string;
  /** Whether the run listed every non-passing case (casesOmitted 0): only then does absence mean "passed". */
  complete: boolean;
  cases: Pick<TestCase, 'id' | 'status' | 'host' | 'runs' | 'message' | 'durationMs'>[];
}

export type CaseHealthState = 'healthy' | 'flaky' | 'broken';

export interface CaseHealth {
  id: string;
  task: string;
  state: CaseHealthState;
  /** Runs of its task in the window where its outcome is known (skips not counted). */
  runs: number;
  /** Runs that ended failed or errored. */
  failures: number;
  /** Runs where it failed and then passed on a rerun. */
  flakyRuns: number;
  /** failures / runs (0 when no runs). */
  failureRate: number;
  /** (failures + flakyRuns) / runs: how often it failed at least once. */
  flakeOrFailRate: number;
  /** Oldest first: P passed, F failed/errored, K flaky (failed then passed), S skipped. */
  history: string;
  lastFailureMessage?: string;
  lastSeen: number;
  meanDurationMs?: number;
}

export interface HealthOptions {
  /** Most recent runs of each case considered (default 50). */
  window?: number;
  /** A case whose last `brokenStreak` known runs all failed is broken (default 3). */
  brokenStreak?: number;
}

/**
 * Each case's outcome in each run of its task, oldest first. A case is known in a run when the run lists it, or when
 * the run's list is complete (then it passed). Cases are keyed by task and id: the same id in two tasks is two cases.
 */
export function caseOutcomes(runs: readonly TaskTestsRun[]): Map<string, { id: string; task: string; outcomes: { run: TaskTestsRun; status: CaseStatus; c?: TaskTestsRun['cases'][number] }[] }> {
  const byTask = new Map<string, TaskTestsRun[]>();
  for (const r of runs) (byTask.get(r.task) ?? byTask.set(r.task, []).get(r.task)!).push(r);
  const result = new Map<string, { id: string; task: string; outcomes: { run: TaskTestsRun; status: CaseStatus; c?: TaskTestsRun['cases'][number] }[] }>();
  for (const [task, taskRuns] of byTask) {
    taskRuns.sort((a, b) => a.at - b.at);
    const ids = new Set<string>();
    for (const r of taskRuns) for (const c of r.cases) ids.add(c.id);
    const listedIn = taskRuns.map((r) => new Map(r.cases.map((c) => [c.id, c])));
    for (const id of ids) {
      const outcomes: { run: TaskTestsRun; status: CaseStatus; c?: TaskTestsRun['cases'][number] }[] = [];
      taskRuns.forEach((r, i) => {
        const c = listedIn[i].get(id);
        if (c) outcomes.push({ run: r, status: c.status, c });
        else if (r.complete) outcomes.push({ run: r, status: 'passed' });
      });
      result.set(`${task}\u0000${id}`, { id, task, outcomes });
    }
  }
  return result;
}

/**
 * Health of every case seen in the runs, over its last `window` known runs:
 * - `broken`: its last `brokenStreak` known runs (skips aside; all of them when it has fewer) ended failed or errored;
 * - `flaky`: not broken, and within the window it was flaky in a run (failed then passed on a rerun) or its
 *   outcome flipped between pass and fail at least twice (P F P, F P F: not a one-off break and fix);
 * - `healthy` otherwise (a case broken once and since fixed, F F P P, is healthy; so is one fresh failure, P P P F,
 *   until it repeats).
 * Only cases listed at least once (non-passing somewhere) are tracked: summaries do not list passing cases.
 */
export function caseHealth(runs: readonly TaskTestsRun[], opts: HealthOptions = {}): CaseHealth[] {
  const window = opts.window ?? 50;
  const streak = opts.brokenStreak ?? 3;
  const out: CaseHealth[] = [];
  for (const { id, task, outcomes } of caseOutcomes(runs).values()) {
    const recent = outcomes.slice(-window);
    const known = recent.filter((o) => o.status !== 'skipped');
    const failures = known.filter((o) => isFailure(o.status)).length;
    const flakyRuns = known.filter((o) => o.status === 'flaky').length;
    let flips = 0;
    for (let i = 1; i < known.length; i++) {
      if (isFailure(known[i].status) !== isFailure(known[i - 1].status)) flips += 1;
    }
    const tail = known.slice(-streak);
    const broken = tail.length > 0 && tail.every((o) => isFailure(o.status));
    const state: CaseHealthState = broken ? 'broken' : flakyRuns > 0 || flips >= 2 ? 'flaky' : 'healthy';
    const lastFailure = [...recent].reverse().find((o) => o.c && (isFailure(o.status) || o.status === 'flaky'));
    const durations = recent.map((o) => o.c?.durationMs).filter((d): d is number => d !== undefined);
    out.push(
      stripUndefined({
        id,
        task,
        state,
        runs: known.length,
        failures,
        flakyRuns,
        failureRate: known.length ? round3(failures / known.length) : 0,
        flakeOrFailRate: known.length ? round3((failures + flakyRuns) / known.length) : 0,
        history: recent.map((o) => HISTORY_CHAR[o.status]).join(''),
        lastFailureMessage: lastFailure?.c?.message,
        lastSeen: recent.length ? recent[recent.length - 1].run.at : 0,
        meanDurationMs: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : undefined,
      }),
    );
  }
  return out.sort((a, b) => a.task.localeCompare(b.task) || a.id.localeCompare(b.id));
}

const HISTORY_CHAR: Record<CaseStatus, string> = { passed: 'P', failed: 'F', errored: 'F', flaky: 'K', skipped: 'S' };

/** Every execution of each case with the host it ran on: the attempts a flaky run lists, else its one outcome. */
export function caseExecutions(runs: readonly TaskTestsRun[]): { id: string; task: string; host: string; failed: boolean }[] {
  const out: { id: string; task: string; host: string; failed: boolean }[] = [];
  for (const { id, task, outcomes } of caseOutcomes(runs).values()) {
    for (const o of outcomes) {
      if (o.status === 'skipped') continue;
      const execs = o.c?.runs?.length ? o.c.runs : [{ status: o.status === 'flaky' ? 'passed' : o.status, host: o.c?.host ?? o.run.host }];
      for (const e of execs) {
        if (e.status === 'skipped') continue;
        const host = e.host ?? o.c?.host ?? o.run.host;
        if (host) out.push({ id, task, host, failed: isFailure(e.status as CaseStatus) });
      }
    }
  }
  return out;
}

export interface HostAttribution {
  id: string;
  task: string;
  host: string;
  /** Executions of the case on this host and how many failed. */
  hostRuns: number;
  hostFailures: number;
  /** Executions on every other host and how many failed. */
  otherRuns: number;
  otherFailures: number;
  /** hostFailRate × (1 − otherFailRate), in [0, 1]: see hostAttribution. */
  score: number;
}

export interface HostAttributionOptions {
  /** Fewest failures on the host ("repeatedly"; default 2). */
  minHostFailures?: number;
  /** Fewest executions on other hosts (default 2). */
  minOtherRuns?: number;
  /** Lowest score reported (default 0.5). */
  minScore?: number;
}

/**
 * Cases whose failures point at a host rather than at the test. For a case and a host h, with f_h failures in n_h
 * executions on h and f_o in n_o executions on every other host:
 *
 *     score = (f_h / n_h) × (1 − f_o / n_o)
 *
 * 1 means it always fails on h and never elsewhere; a case that fails everywhere (a broken test) or nowhere scores
 * near 0, and a test that is flaky everywhere scores at most about 1/4 (0.5 × 0.5). A (case, host) pair is reported
 * when f_h ≥ minHostFailures (2: repeatedly), n_o ≥ minOtherRuns (2) and score ≥ minScore (0.5), best first. Reruns
 * of a task on another host (flakyReruns) give exactly this evidence: failed on A, passed on B.
 */
export function hostAttribution(runs: readonly TaskTestsRun[], opts: HostAttributionOptions = {}): HostAttribution[] {
  const minHostFailures = opts.minHostFailures ?? 2;
  const minOtherRuns = opts.minOtherRuns ?? 2;
  const minScore = opts.minScore ?? 0.5;
  const byCase = new Map<string, { id: string; task: string; hosts: Map<string, { n: number; f: number }> }>();
  for (const e of caseExecutions(runs)) {
    const key = `${e.task}\u0000${e.id}`;
    const entry = byCase.get(key) ?? byCase.set(key, { id: e.id, task: e.task, hosts: new Map() }).get(key)!;
    const h = entry.hosts.get(e.host) ?? entry.hosts.set(e.host, { n: 0, f: 0 }).get(e.host)!;
    h.n += 1;
    if (e.failed) h.f += 1;
  }
  const out: HostAttribution[] = [];
  for (const { id, task, hosts } of byCase.values()) {
    let n = 0;
    let f = 0;
    for (const h of hosts.values()) {
      n += h.n;
      f += h.f;
    }
    for (const [host, h] of hosts) {
      const otherRuns = n - h.n;
      const otherFailures = f - h.f;
      if (h.f < minHostFailures || otherRuns < minOtherRuns) continue;
      const score = round3((h.f / h.n) * (1 - otherFailures / otherRuns));
      if (score < minScore) continue;
      out.push({ id, task, host, hostRuns: h.n, hostFailures: h.f, otherRuns, otherFailures, score });
    }
  }
  return out.sort((a, b) => b.score - a.score || b.hostFailures - a.hostFailures || a.id.localeCompare(b.id));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function roundMs(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) / 1000 : 0;
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
