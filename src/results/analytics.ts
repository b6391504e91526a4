/**
 * Fleet analytics over what the results store holds for a window: outcomes, error trends by category, host and GPU
 * model, recovery rate and what each recovery action achieved, dead letters, the flakiest / slowest / most-failing
 * tests with their history, hosts and GPU models whose failure share is out of line, error-prone configurations,
 * and recommendations, each with its evidence. Pure: `buildReport(window, options)` over StoredWindow rows.
 */
import { HOST_ATTRIBUTED_CATEGORIES } from '../domain/categories';
import { DEFAULT_POLICIES } from '../domain/policies';
import { CaseHealth, HostAttribution, TaskTestsRun, caseHealth, hostAttribution } from '../domain/test-results';
import type { StoredAttempt, StoredTask, StoredWindow } from './store';

/** Seed 003's bar for the recovery rate. */
export const RECOVERY_RATE_TARGET = 0.8;
/** A classifier rule is worth adding when more than this share of error reports is UNKNOWN_ERROR. */
export const UNKNOWN_SHARE_LIMIT = 0.05;
/** Out of line: at least this many attempts (tasks, for configurations), ... */
export const OUT_OF_LINE_MIN_SAMPLES = 5;
/** ... a failure share at least this many times the rest's, ... */
export const OUT_OF_LINE_MIN_RATIO = 2;
/** ... and a two-proportion z score at least this high (about p < 0.003 one-sided at 2.75). */
export const OUT_OF_LINE_MIN_Z = 2.75;

const TERMINAL_VERDICTS = new Set(['passed', 'failed']);
const DEAD_LETTER_STATUSES = new Set(['dead_lettered', 'expired', 'discarded', 'error']);
const isTestCategory = (c: string | undefined) => !!c && c.startsWith('TEST_');

export interface ReportOptions {
  /** The window's start (epoch ms); undefined: everything in the store (or the batch). */
  sinceMs?: number;
  /** The window's end (epoch ms); default now. */
  untilMs?: number;
  batchId?: string;
  /** Where the data came from, for the header. */
  store?: string;
  /** Rows in each top list (default 10). */
  top?: number;
  now?: number;
}

export interface CountShare {
  count: number;
  share: number;
}

export interface GroupFailure {
  name: string;
  attempts: number;
  /** Attempts that failed (any category, test failures included). */
  failures: number;
  failureShare: number;
  /** Attempts that failed with a hardware or worker category (host-attributed). */
  hardwareFailures: number;
  hardwareShare: number;
  byCategory: Record<string, number>;
  /** Failure share of every other host / model, for comparison. */
  restShare: number;
  /** Hardware/worker failure share of every other host / model. */
  restHardwareShare: number;
  z: number;
  hardwareZ: number;
  /** Its failure share, or its hardware/worker failure share, is out of line with the rest's (isOutOfLine). */
  outOfLine: boolean;
}

export interface ConfigurationRisk {
  dimension: 'label' | 'hardware' | 'gpuModel' | 'queue';
  key: string;
  value: string;
  tasks: number;
  notPassed: number;
  rate: number;
  restRate: number;
  z: number;
  outOfLine: boolean;
}

export interface RecoveryActionStats {
  action: string;
  /** Times it was taken. */
  taken: number;
  /** Tasks that took it. */
  tasks: number;
  /** Of those, tasks that then reached a test verdict (passed or failed). */
  recovered: number;
  rate: number;
  /** Tasks that passed in the end. */
  passed: number;
}

export interface TestRow {
  caseId: string;
  task: string;
  state: CaseHealth['state'];
  runs: number;
  failures: number;
  flakyRuns: number;
  failureRate: number;
  /** Oldest first, at most the last 30 runs: P passed, F failed, K flaky (failed then passed), S skipped. */
  history: string;
  lastFailureMessage?: string;
  lastSeen: string;
  /** Hosts where it failed, most first. */
  failedOn: { host: string; count: number }[];
}

export interface SlowTestRow {
  caseId: string;
  task: string;
  runs: number;
  meanMs: number;
  maxMs: number;
}

export interface Recommendation {
  kind: 'quarantine-host' | 'inspect-gpu-model' | 'raise-max-attempts' | 'add-classifier-rule' | 'quarantine-test' | 'fix-test' | 'inspect-host-for-test' | 'check-configuration' | 'improve-recovery' | 'redrive-dead-letters';
  /** What to do, in one line. */
  title: string;
  /** Why: the figures it rests on. */
  evidence: string;
  /** Higher first. */
  priority: number;
  data: Record<string, unknown>;
}

export interface Report {
  generatedAt: string;
  window: { since?: string; until: string; batchId?: string; store?: string; bucketMs: number; buckets: string[] };
  tasks: {
    total: number;
    byStatus: Record<string, number>;
    passed: number;
    passRate: number;
    withTests: number;
    attempts: number;
    medianDurationMs: number;
    p95DurationMs: number;
  };
  tests: { total: number; passed: number; failed: number; errored: number; skipped: number; flaky: number; quarantined: number };
  errorsByCategory: { category: string; errors: number; tasks: number; share: number }[];
  errorTrends: { buckets: string[]; series: { category: string; counts: number[] }[]; tasks: number[]; failedTasks: number[] };
  errorsByHost: GroupFailure[];
  errorsByGpuModel: GroupFailure[];
  /** Per host and time bucket: attempts, and those that failed on a hardware or worker (host-attributed) error. */
  hostHeatmap: { hosts: string[]; buckets: string[]; attempts: number[][]; failures: number[][] };
  recoveryRate: { needed: number; recovered: number; rate: number; target: number; meetsTarget: boolean; unrecoveredByCategory: Record<string, number> };
  recoveryActions: RecoveryActionStats[];
  deadLetters: { workflowId: string; task: string; status: string; category?: string; reason?: string; host?: string; endedAt: string }[];
  flakyTests: TestRow[];
  mostFailingTests: TestRow[];
  brokenTests: TestRow[];
  slowestTests: SlowTestRow[];
  hostAttributedTests: HostAttribution[];
  outOfLine: { hosts: GroupFailure[]; gpuModels: GroupFailure[] };
  errorProneConfigurations: ConfigurationRisk[];
  unknownMessages: { message: string; count: number }[];
  recommendations: Recommendation[];
}

const round = (n: number, d = 3) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : 0);
const share = (a: number, b: number) => (b > 0 ? round(a / b) : 0);
const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)} %`;
const iso = (ms: number) => new Date(ms).toISOString();

/** Two-proportion z score of a/n against b/m (pooled); 0 when either side is empty. */
export function twoProportionZ(a: number, n: number, b: number, m: number): number {
  if (n <= 0 || m <= 0) return 0;
  const p = (a + b) / (n + m);
  const se = Math.sqrt(p * (1 - p) * (1 / n + 1 / m));
  if (se === 0) return 0;
  return round((a / n - b / m) / se, 2);
}

/** Out of line: enough samples, at least OUT_OF_LINE_MIN_RATIO × the rest's share, and z ≥ OUT_OF_LINE_MIN_Z. */
export function isOutOfLine(a: number, n: number, b: number, m: number): boolean {
  if (n < OUT_OF_LINE_MIN_SAMPLES || a === 0) return false;
  const rest = m > 0 ? b / m : 0;
  return a / n >= OUT_OF_LINE_MIN_RATIO * rest && twoProportionZ(a, n, b, m) >= OUT_OF_LINE_MIN_Z;
}

const BUCKETS_MS = [5 * 60_000, 15 * 60_000, 3_600_000, 6 * 3_600_000, 24 * 3_600_000, 7 * 24 * 3_600_000];

function bucketsFor(startMs: number, endMs: number): { bucketMs: number; starts: number[] } {
  const span = Math.max(1, endMs - startMs);
  const bucketMs = BUCKETS_MS.find((b) => span / b <= 48) ?? BUCKETS_MS[BUCKETS_MS.length - 1];
  const first = Math.floor(startMs / bucketMs) * bucketMs;
  const starts: number[] = [];
  for (let t = first; t < endMs || starts.length === 0; t += bucketMs) starts.push(t);
  return { bucketMs, starts };
}

/** Error messages with their variable parts folded, so that the same error groups together. */
export function normaliseMessage(message: string): string {
  return message
    .replace(/\s+/g, ' ')
    .replace(/0x[0-9a-f]+/gi, '<hex>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f-]{27}\b/gi, '<uuid>')
    .replace(/(\/[\w.-]+){2,}/g, '<path>')
    .replace(/\d+(\.\d+)?/g, 'N')
    .trim()
    .slice(0, 200);
}

function failureGroups(attempts: StoredAttempt[], keyOf: (a: StoredAttempt) => string | undefined): GroupFailure[] {
  const groups = new Map<string, { attempts: number; failures: number; hw: number; byCategory: Record<string, number> }>();
  let total = 0;
  let totalFailures = 0;
  let totalHw = 0;
  for (const a of attempts) {
    const k = keyOf(a);
    if (!k) continue;
    const g = groups.get(k) ?? groups.set(k, { attempts: 0, failures: 0, hw: 0, byCategory: {} }).get(k)!;
    g.attempts += 1;
    total += 1;
    if (a.outcome !== 'passed') {
      g.failures += 1;
      totalFailures += 1;
      const c = a.category ?? (a.outcome === 'lost' ? 'WORKER_DISCONNECTION_ERROR' : 'UNKNOWN_ERROR');
      g.byCategory[c] = (g.byCategory[c] ?? 0) + 1;
      if (HOST_ATTRIBUTED_CATEGORIES.has(c)) {
        g.hw += 1;
        totalHw += 1;
      }
    }
  }
  return [...groups.entries()]
    .map(([name, g]) => {
      const restN = total - g.attempts;
      const restF = totalFailures - g.failures;
      const restHw = totalHw - g.hw;
      return {
        name,
        attempts: g.attempts,
        failures: g.failures,
        failureShare: share(g.failures, g.attempts),
        hardwareFailures: g.hw,
        hardwareShare: share(g.hw, g.attempts),
        byCategory: g.byCategory,
        restShare: share(restF, restN),
        restHardwareShare: share(restHw, restN),
        z: twoProportionZ(g.failures, g.attempts, restF, restN),
        hardwareZ: twoProportionZ(g.hw, g.attempts, restHw, restN),
        outOfLine: isOutOfLine(g.failures, g.attempts, restF, restN) || isOutOfLine(g.hw, g.attempts, restHw, restN),
      };
    })
    .sort((a, b) => b.failureShare - a.failureShare || b.failures - a.failures || a.name.localeCompare(b.name));
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The report over one window of stored results. */
export function buildReport(w: StoredWindow, opts: ReportOptions = {}): Report {
  const now = opts.now ?? Date.now();
  const top = opts.top ?? 10;
  const untilMs = opts.untilMs ?? now;
  const taskById = new Map(w.tasks.map((t) => [t.workflowId, t]));
  const attemptsByTask = new Map<string, StoredAttempt[]>();
  for (const a of w.attempts) (attemptsByTask.get(a.workflowId) ?? attemptsByTask.set(a.workflowId, []).get(a.workflowId)!).push(a);

  // Outcomes.
  const byStatus: Record<string, number> = {};
  for (const t of w.tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  const durations = w.tasks.map((t) => t.durationMs).sort((a, b) => a - b);
  const tests = { total: 0, passed: 0, failed: 0, errored: 0, skipped: 0, flaky: 0, quarantined: 0 };
  for (const t of w.tasks) {
    if (!t.tests) continue;
    for (const k of Object.keys(tests) as (keyof typeof tests)[]) tests[k] += t.tests[k];
  }

  // Errors by category and over time.
  const errorsByCategoryMap = new Map<string, { errors: number; tasks: Set<string> }>();
  for (const e of w.errorReports) {
    const g = errorsByCategoryMap.get(e.category) ?? errorsByCategoryMap.set(e.category, { errors: 0, tasks: new Set() }).get(e.category)!;
    g.errors += 1;
    g.tasks.add(e.workflowId);
  }
  const errorsByCategory = [...errorsByCategoryMap.entries()]
    .map(([category, g]) => ({ category, errors: g.errors, tasks: g.tasks.size, share: share(g.errors, w.errorReports.length) }))
    .sort((a, b) => b.errors - a.errors || a.category.localeCompare(b.category));

  let dataStart = untilMs;
  let dataEnd = 0;
  for (const t of w.tasks) {
    dataStart = Math.min(dataStart, t.startedAt);
    dataEnd = Math.max(dataEnd, t.endedAt);
  }
  for (const e of w.errorReports) dataStart = Math.min(dataStart, e.at);
  const startMs = opts.sinceMs ?? (w.tasks.length ? dataStart : untilMs - 24 * 3_600_000);
  const endMs = opts.sinceMs === undefined && w.tasks.length ? dataEnd + 1 : untilMs;
  const { bucketMs, starts } = bucketsFor(startMs, endMs);
  const bucketOf = (t: number) => Math.min(starts.length - 1, Math.max(0, Math.floor((t - starts[0]) / bucketMs)));
  const topCategories = errorsByCategory.slice(0, 6).map((c) => c.category);
  const series = new Map(topCategories.map((c) => [c, new Array<number>(starts.length).fill(0)]));
  const other = new Array<number>(starts.length).fill(0);
  for (const e of w.errorReports) (series.get(e.category) ?? other)[bucketOf(e.at)] += 1;
  const trendSeries = [...series.entries()].map(([category, counts]) => ({ category, counts }));
  if (other.some((x) => x > 0)) trendSeries.push({ category: 'other', counts: other });
  const tasksPerBucket = new Array<number>(starts.length).fill(0);
  const failedPerBucket = new Array<number>(starts.length).fill(0);
  for (const t of w.tasks) {
    const b = bucketOf(t.endedAt);
    tasksPerBucket[b] += 1;
    if (t.status !== 'passed') failedPerBucket[b] += 1;
  }

  // Hosts and GPU models.
  const errorsByHost = failureGroups(w.attempts, (a) => a.host);
  const errorsByGpuModel = failureGroups(w.attempts, (a) => a.gpuModel);
  const heatHosts = [...errorsByHost].sort((a, b) => b.attempts - a.attempts).slice(0, 30).map((h) => h.name).sort();
  const heatIndex = new Map(heatHosts.map((h, i) => [h, i]));
  const heatAttempts = heatHosts.map(() => new Array<number>(starts.length).fill(0));
  const heatFailures = heatHosts.map(() => new Array<number>(starts.length).fill(0));
  for (const a of w.attempts) {
    const i = a.host === undefined ? undefined : heatIndex.get(a.host);
    if (i === undefined) continue;
    const at = a.startedAt ?? taskById.get(a.workflowId)?.endedAt ?? startMs;
    const b = bucketOf(at);
    heatAttempts[i][b] += 1;
    if (a.outcome !== 'passed' && a.category !== undefined && HOST_ATTRIBUTED_CATEGORIES.has(a.category)) heatFailures[i][b] += 1;
  }

  // Recovery.
  const needing = w.tasks.filter((t) => (attemptsByTask.get(t.workflowId) ?? []).some((a) => a.outcome !== 'passed' && !isTestCategory(a.category) && a.outcome !== 'cancelled'));
  const recoveredTasks = needing.filter((t) => TERMINAL_VERDICTS.has(t.status));
  const unrecoveredByCategory: Record<string, number> = {};
  for (const t of needing) {
    if (TERMINAL_VERDICTS.has(t.status)) continue;
    const c = t.category ?? 'UNKNOWN_ERROR';
    unrecoveredByCategory[c] = (unrecoveredByCategory[c] ?? 0) + 1;
  }
  const recoveryRate = {
    needed: needing.length,
    recovered: recoveredTasks.length,
    rate: needing.length ? share(recoveredTasks.length, needing.length) : 1,
    target: RECOVERY_RATE_TARGET,
    meetsTarget: needing.length === 0 || recoveredTasks.length / needing.length > RECOVERY_RATE_TARGET,
    unrecoveredByCategory,
  };
  const actions = new Map<string, { taken: number; tasks: Set<string> }>();
  for (const r of w.recoveryActions) {
    if (r.action === 'record-test-failure') continue;
    const g = actions.get(r.action) ?? actions.set(r.action, { taken: 0, tasks: new Set() }).get(r.action)!;
    g.taken += 1;
    g.tasks.add(r.workflowId);
  }
  const recoveryActions: RecoveryActionStats[] = [...actions.entries()]
    .map(([action, g]) => {
      const ts = [...g.tasks].map((id) => taskById.get(id)).filter((t): t is StoredTask => !!t);
      const recovered = ts.filter((t) => TERMINAL_VERDICTS.has(t.status)).length;
      return { action, taken: g.taken, tasks: ts.length, recovered, rate: share(recovered, ts.length), passed: ts.filter((t) => t.status === 'passed').length };
    })
    .sort((a, b) => b.tasks - a.tasks || a.action.localeCompare(b.action));

  // Dead letters.
  const deadLetters = w.tasks
    .filter((t) => DEAD_LETTER_STATUSES.has(t.status))
    .sort((a, b) => b.endedAt - a.endedAt)
    .map((t) => strip({ workflowId: t.workflowId, task: t.task, status: t.status, category: t.category, reason: t.reason, host: t.host, endedAt: iso(t.endedAt) }));

  // Tests.
  const casesByTask = new Map<string, TaskTestsRun['cases']>();
  for (const c of w.testCases) {
    (casesByTask.get(c.workflowId) ?? casesByTask.set(c.workflowId, []).get(c.workflowId)!).push(
      strip({ id: c.caseId, status: c.status as TaskTestsRun['cases'][number]['status'], host: c.host, runs: c.runs as TaskTestsRun['cases'][number]['runs'], message: c.message, durationMs: c.durationMs }),
    );
  }
  const runs: TaskTestsRun[] = w.tasks
    .filter((t) => t.tests)
    .map((t) => strip({ task: t.task, runId: t.workflowId, at: t.endedAt, host: t.host, complete: (t.tests?.casesOmitted ?? 0) === 0, cases: casesByTask.get(t.workflowId) ?? [] }));
  const health = caseHealth(runs, { window: 50 });
  const failedOn = new Map<string, Map<string, number>>();
  for (const c of w.testCases) {
    const key = `${c.task}\u0000${c.caseId}`;
    const m = failedOn.get(key) ?? failedOn.set(key, new Map()).get(key)!;
    const failedRuns = c.runs?.length ? c.runs.filter((r) => r.status === 'failed' || r.status === 'errored') : c.status === 'failed' || c.status === 'errored' ? [{ host: c.host }] : [];
    for (const r of failedRuns) if (r.host ?? c.host) m.set((r.host ?? c.host)!, (m.get((r.host ?? c.host)!) ?? 0) + 1);
  }
  const row = (h: CaseHealth): TestRow =>
    strip({
      caseId: h.id, task: h.task, state: h.state, runs: h.runs, failures: h.failures, flakyRuns: h.flakyRuns, failureRate: h.failureRate,
      history: h.history.slice(-30), lastFailureMessage: h.lastFailureMessage, lastSeen: iso(h.lastSeen),
      failedOn: [...(failedOn.get(`${h.task}\u0000${h.id}`) ?? new Map<string, number>()).entries()].map(([host, count]) => ({ host, count })).sort((a, b) => b.count - a.count || a.host.localeCompare(b.host)).slice(0, 5),
    });
  const flakyTests = health
    .filter((h) => h.state === 'flaky')
    .sort((a, b) => b.flakeOrFailRate - a.flakeOrFailRate || b.flakyRuns + b.failures - (a.flakyRuns + a.failures) || a.id.localeCompare(b.id))
    .slice(0, top)
    .map(row);
  const mostFailingTests = health.filter((h) => h.failures > 0).sort((a, b) => b.failures - a.failures || b.failureRate - a.failureRate || a.id.localeCompare(b.id)).slice(0, top).map(row);
  const brokenTests = health.filter((h) => h.state === 'broken').sort((a, b) => b.failures - a.failures || a.id.localeCompare(b.id)).slice(0, top).map(row);
  const slow = new Map<string, { caseId: string; task: string; n: number; sum: number; max: number }>();
  for (const t of w.tasks) {
    for (const s of t.tests?.slowest ?? []) {
      const key = `${t.task}\u0000${s.id}`;
      const g = slow.get(key) ?? slow.set(key, { caseId: s.id, task: t.task, n: 0, sum: 0, max: 0 }).get(key)!;
      g.n += 1;
      g.sum += s.durationMs;
      g.max = Math.max(g.max, s.durationMs);
    }
  }
  const slowestTests = [...slow.values()]
    .map((g) => ({ caseId: g.caseId, task: g.task, runs: g.n, meanMs: Math.round(g.sum / g.n), maxMs: Math.round(g.max) }))
    .sort((a, b) => b.meanMs - a.meanMs || a.caseId.localeCompare(b.caseId))
    .slice(0, top);
  const hostAttributedTests = hostAttribution(runs).slice(0, top);

  // Configurations: labels, hardware class, GPU model, queue, by the share of their tasks that did not pass.
  const configs = new Map<string, { dimension: ConfigurationRisk['dimension']; key: string; value: string; tasks: Set<string>; notPassed: Set<string> }>();
  const addConfig = (dimension: ConfigurationRisk['dimension'], key: string, value: string, t: StoredTask) => {
    const k = `${dimension}\u0000${key}\u0000${value}`;
    const g = configs.get(k) ?? configs.set(k, { dimension, key, value, tasks: new Set(), notPassed: new Set() }).get(k)!;
    g.tasks.add(t.workflowId);
    if (t.status !== 'passed') g.notPassed.add(t.workflowId);
  };
  for (const t of w.tasks) {
    for (const [k, v] of Object.entries(t.labels)) addConfig('label', k, v, t);
    addConfig('hardware', 'class', t.hwClass, t);
    const models = new Set((attemptsByTask.get(t.workflowId) ?? []).map((a) => a.gpuModel).filter((m): m is string => !!m));
    for (const m of models) addConfig('gpuModel', 'gpu', m, t);
  }
  const totalTasks = w.tasks.length;
  const totalNotPassed = w.tasks.filter((t) => t.status !== 'passed').length;
  const errorProneConfigurations = [...configs.values()]
    .map((g) => {
      const n = g.tasks.size;
      const a = g.notPassed.size;
      // Against the tasks outside this configuration (for labels: the other tasks, with or without the key).
      const restN = totalTasks - n;
      const restA = totalNotPassed - a;
      return { dimension: g.dimension, key: g.key, value: g.value, tasks: n, notPassed: a, rate: share(a, n), restRate: share(restA, restN), z: twoProportionZ(a, n, restA, restN), outOfLine: isOutOfLine(a, n, restA, restN) };
    })
    .filter((c) => c.notPassed > 0)
    .sort((a, b) => Number(b.outOfLine) - Number(a.outOfLine) || b.z - a.z || b.rate - a.rate)
    .slice(0, top);

  // Unknown errors: what a new classifier rule would have to match.
  const unknown = w.errorReports.filter((e) => e.category === 'UNKNOWN_ERROR');
  const unknownCounts = new Map<string, number>();
  for (const e of unknown) {
    const m = normaliseMessage(e.message ?? '(no message)');
    unknownCounts.set(m, (unknownCounts.get(m) ?? 0) + 1);
  }
  const unknownMessages = [...unknownCounts.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count || a.message.localeCompare(b.message)).slice(0, 5);

  const report: Report = {
    generatedAt: iso(now),
    window: strip({ since: opts.sinceMs === undefined ? undefined : iso(opts.sinceMs), until: iso(untilMs), batchId: opts.batchId, store: opts.store, bucketMs, buckets: starts.map(iso) }),
    tasks: {
      total: totalTasks,
      byStatus,
      passed: byStatus.passed ?? 0,
      passRate: share(byStatus.passed ?? 0, totalTasks),
      withTests: runs.length,
      attempts: w.attempts.length,
      medianDurationMs: Math.round(quantile(durations, 0.5)),
      p95DurationMs: Math.round(quantile(durations, 0.95)),
    },
    tests,
    errorsByCategory,
    errorTrends: { buckets: starts.map(iso), series: trendSeries, tasks: tasksPerBucket, failedTasks: failedPerBucket },
    errorsByHost,
    errorsByGpuModel,
    hostHeatmap: { hosts: heatHosts, buckets: starts.map(iso), attempts: heatAttempts, failures: heatFailures },
    recoveryRate,
    recoveryActions,
    deadLetters,
    flakyTests,
    mostFailingTests,
    brokenTests,
    slowestTests,
    hostAttributedTests,
    outOfLine: { hosts: errorsByHost.filter((h) => h.outOfLine), gpuModels: errorsByGpuModel.filter((g) => g.outOfLine) },
    errorProneConfigurations,
    unknownMessages,
    recommendations: [],
  };
  report.recommendations = recommend(report, w, attemptsByTask);
  return report;
}

/** Recommendations, each with the figures it rests on. */
function recommend(r: Report, w: StoredWindow, attemptsByTask: Map<string, StoredAttempt[]>): Recommendation[] {
  const out: Recommendation[] = [];

  // Hosts whose hardware/worker failures are out of line with the fleet's.
  for (const h of r.errorsByHost) {
    const restN = r.errorsByHost.reduce((sum, x) => sum + x.attempts, 0) - h.attempts;
    const restHw = Math.round(h.restHardwareShare * restN);
    if (!isOutOfLine(h.hardwareFailures, h.attempts, restHw, restN)) continue;
    const cats = Object.entries(h.byCategory).filter(([c]) => HOST_ATTRIBUTED_CATEGORIES.has(c)).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    out.push({
      kind: 'quarantine-host',
      title: `Quarantine host ${h.name} and check its hardware`,
      evidence: `${pct(h.hardwareShare)} of its ${h.attempts} attempts failed on hardware or worker errors (${cats}) against ${pct(h.restHardwareShare)} for the rest of the fleet (z = ${h.hardwareZ}).`,
      priority: 90,
      data: { host: h.name, attempts: h.attempts, hardwareFailures: h.hardwareFailures, hostShare: h.hardwareShare, fleetShare: h.restHardwareShare },
    });
  }
  for (const g of r.outOfLine.gpuModels) {
    const restN = r.errorsByGpuModel.reduce((sum, x) => sum + x.attempts, 0) - g.attempts;
    const hw = isOutOfLine(g.hardwareFailures, g.attempts, Math.round(g.restHardwareShare * restN), restN);
    out.push({
      kind: 'inspect-gpu-model',
      title: `Look into ${g.name}: its ${hw ? 'hardware/worker failure' : 'failure'} share is out of line`,
      evidence: hw
        ? `${pct(g.hardwareShare)} of ${g.attempts} attempts on ${g.name} failed on hardware or worker errors against ${pct(g.restHardwareShare)} on other GPU models (z = ${g.hardwareZ}); by host: ${hostsOfModel(w, g.name)}.`
        : `${pct(g.failureShare)} of ${g.attempts} attempts on ${g.name} failed against ${pct(g.restShare)} on other GPU models (z = ${g.z}); top: ${topCategories(g.byCategory)}.`,
      priority: 70,
      data: { gpuModel: g.name, attempts: g.attempts, failures: g.failures, share: g.failureShare, restShare: g.restShare, hardwareShare: g.hardwareShare, restHardwareShare: g.restHardwareShare },
    });
  }

  // Tasks that recovered on the last in-place attempt their category allowed.
  const lastChance = new Map<string, { tasks: Set<string>; max: number }>();
  const movedAfterRetries = new Map<string, Set<string>>();
  for (const t of w.tasks) {
    const atts = (attemptsByTask.get(t.workflowId) ?? []).slice().sort((a, b) => a.n - b.n);
    for (let i = 1; i < atts.length; i++) {
      const prev = atts[i - 1];
      const cur = atts[i];
      // UNKNOWN_ERROR wants a classifier rule (below), not more blind retries.
      if (!prev.category || isTestCategory(prev.category) || prev.category === 'UNKNOWN_ERROR' || prev.outcome === 'passed') continue;
      const samePlacement = prev.placement !== undefined && prev.placement === cur.placement;
      const max = prev.maxAttemptsInPlace ?? DEFAULT_POLICIES[prev.category as keyof typeof DEFAULT_POLICIES]?.maxAttemptsInPlace;
      if (!max || max <= 1) continue;
      const inPlace = cur.attemptInPlacement ?? (samePlacement ? i + 1 : undefined);
      if (samePlacement && TERMINAL_VERDICTS.has(cur.outcome) && inPlace === max) {
        const g = lastChance.get(prev.category) ?? lastChance.set(prev.category, { tasks: new Set(), max }).get(prev.category)!;
        g.tasks.add(t.workflowId);
      }
      const prevInPlace = prev.attemptInPlacement;
      if (!samePlacement && prevInPlace === max && TERMINAL_VERDICTS.has(t.status)) {
        (movedAfterRetries.get(prev.category) ?? movedAfterRetries.set(prev.category, new Set()).get(prev.category)!).add(t.workflowId);
      }
    }
  }
  for (const [category, g] of lastChance) {
    if (g.tasks.size < 2) continue;
    const moved = movedAfterRetries.get(category)?.size ?? 0;
    out.push({
      kind: 'raise-max-attempts',
      title: `Raise maxAttemptsInPlace for ${category} (now ${g.max})`,
      evidence: `${g.tasks.size} task(s) recovered on their last allowed in-place attempt (${g.max} of ${g.max})${moved ? `, and ${moved} more had to move to another host after ${g.max} attempts and then recovered` : ''}: one more attempt in place would spare the next ones a move or a failure.`,
      priority: 60,
      data: { category, maxAttemptsInPlace: g.max, tasksOnLastAttempt: g.tasks.size, movedAfterRetries: moved, example: [...g.tasks][0] },
    });
  }

  // Unknown errors.
  const unknownCount = r.errorsByCategory.find((c) => c.category === 'UNKNOWN_ERROR')?.errors ?? 0;
  const totalErrors = w.errorReports.length;
  if (totalErrors > 0 && unknownCount / totalErrors > UNKNOWN_SHARE_LIMIT) {
    out.push({
      kind: 'add-classifier-rule',
      title: 'Add a classifier rule for the most common unmatched errors',
      evidence: `${pct(unknownCount / totalErrors)} of ${totalErrors} error reports are UNKNOWN_ERROR (over ${pct(UNKNOWN_SHARE_LIMIT)}); top unmatched: ${r.unknownMessages.slice(0, 3).map((m) => `"${m.message}" ×${m.count}`).join('; ')}.`,
      priority: 65,
      data: { unknown: unknownCount, errors: totalErrors, share: share(unknownCount, totalErrors), top: r.unknownMessages },
    });
  }

  // Tests: one recommendation per case id (and host), summed over the tasks that run it.
  const byHostCase = new Map<string, HostAttribution[]>();
  for (const a of r.hostAttributedTests) {
    const k = `${a.host}\u0000${a.id}`;
    (byHostCase.get(k) ?? byHostCase.set(k, []).get(k)!).push(a);
  }
  for (const group of [...byHostCase.values()].slice(0, 5)) {
    const a = group[0];
    const sum = (f: (x: HostAttribution) => number) => group.reduce((n, x) => n + f(x), 0);
    out.push({
      kind: 'inspect-host-for-test',
      title: `Inspect host ${a.host}: ${a.id} fails there and passes elsewhere`,
      evidence: `${a.id} failed ${sum((x) => x.hostFailures)} of ${sum((x) => x.hostRuns)} runs on ${a.host} and ${sum((x) => x.otherFailures)} of ${sum((x) => x.otherRuns)} on other hosts, in ${group.length} task(s) (${group.slice(0, 3).map((x) => x.task).join(', ')}${group.length > 3 ? ', …' : ''}; host score ${a.score}): the host, not the test, looks at fault.`,
      priority: 75,
      data: { host: a.host, caseId: a.id, tasks: group.map((x) => x.task), hostRuns: sum((x) => x.hostRuns), hostFailures: sum((x) => x.hostFailures), otherRuns: sum((x) => x.otherRuns), otherFailures: sum((x) => x.otherFailures), score: a.score },
    });
  }
  const hostPointed = new Set(r.hostAttributedTests.map((a) => a.id));
  const flakyByCase = new Map<string, TestRow[]>();
  for (const t of r.flakyTests) {
    if (hostPointed.has(t.caseId)) continue;
    (flakyByCase.get(t.caseId) ?? flakyByCase.set(t.caseId, []).get(t.caseId)!).push(t);
  }
  for (const [caseId, rows] of [...flakyByCase.entries()].slice(0, 5)) {
    const sum = (f: (x: TestRow) => number) => rows.reduce((n, x) => n + f(x), 0);
    const hosts = new Map<string, number>();
    for (const t of rows) for (const f of t.failedOn) hosts.set(f.host, (hosts.get(f.host) ?? 0) + f.count);
    out.push({
      kind: 'quarantine-test',
      title: `Quarantine flaky test ${caseId} and fix it`,
      evidence: `In ${sum((x) => x.runs)} runs of ${rows.length} task(s) (${rows.slice(0, 3).map((x) => x.task).join(', ')}${rows.length > 3 ? ', …' : ''}) it failed ${sum((x) => x.failures)} time(s) and was flaky (failed, then passed on a rerun) ${sum((x) => x.flakyRuns)} time(s); history ${rows[0].history}${hosts.size ? `; it failed on ${hosts.size} different host(s), so the test, not a host, looks at fault` : ''}.`,
      priority: 55,
      data: { caseId, tasks: rows.map((x) => x.task), runs: sum((x) => x.runs), failures: sum((x) => x.failures), flakyRuns: sum((x) => x.flakyRuns), failedOn: Object.fromEntries(hosts) },
    });
  }
  const brokenByCase = new Map<string, TestRow[]>();
  for (const t of r.brokenTests) (brokenByCase.get(t.caseId) ?? brokenByCase.set(t.caseId, []).get(t.caseId)!).push(t);
  for (const [caseId, rows] of [...brokenByCase.entries()].slice(0, 5)) {
    const t = rows[0];
    out.push({
      kind: 'fix-test',
      title: `Fix broken test ${caseId}`,
      evidence: `It failed its last ${trailingFailures(t.history)} run(s) of ${t.task}${rows.length > 1 ? ` (and is broken in ${rows.length - 1} other task(s))` : ''}, ${t.failures} of ${t.runs} in the window${t.lastFailureMessage ? `: "${t.lastFailureMessage.slice(0, 160)}"` : ''}.`,
      priority: 50,
      data: { caseId, tasks: rows.map((x) => x.task), runs: t.runs, failures: t.failures, history: t.history },
    });
  }

  // Configurations.
  for (const c of r.errorProneConfigurations.filter((x) => x.outOfLine).slice(0, 5)) {
    const what = c.dimension === 'label' ? `label ${c.key}=${c.value}` : c.dimension === 'gpuModel' ? `GPU model ${c.value}` : `hardware class ${c.value}`;
    out.push({
      kind: 'check-configuration',
      title: `Check the configuration of tasks with ${what}`,
      evidence: `${pct(c.rate)} of its ${c.tasks} tasks did not pass against ${pct(c.restRate)} of the others (z = ${c.z}).`,
      priority: 45,
      data: { ...c },
    });
  }

  // Recovery and dead letters.
  if (!r.recoveryRate.meetsTarget) {
    const worst = Object.entries(r.recoveryRate.unrecoveredByCategory).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    out.push({
      kind: 'improve-recovery',
      title: `Recovery rate ${pct(r.recoveryRate.rate)} is under the ${pct(RECOVERY_RATE_TARGET)} bar`,
      evidence: `${r.recoveryRate.recovered} of ${r.recoveryRate.needed} tasks that hit an infrastructure error reached a test verdict; the unrecovered ended with ${worst.map(([c, n]) => `${c} ×${n}`).join(', ') || 'no category'}.`,
      priority: 80,
      data: { ...r.recoveryRate },
    });
  }
  const parked = r.deadLetters.filter((d) => d.status === 'dead_lettered');
  if (parked.length) {
    const cats = new Map<string, number>();
    for (const d of parked) cats.set(d.category ?? 'unknown', (cats.get(d.category ?? 'unknown') ?? 0) + 1);
    out.push({
      kind: 'redrive-dead-letters',
      title: `${parked.length} task(s) wait in the dead letter queue`,
      evidence: `By category: ${[...cats.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(', ')}. Fix the cause, then \`dtf dlq redrive\` (or discard).`,
      priority: 40,
      data: { count: parked.length, byCategory: Object.fromEntries(cats), workflowIds: parked.slice(0, 10).map((d) => d.workflowId) },
    });
  }
  return out.sort((a, b) => b.priority - a.priority || a.title.localeCompare(b.title));
}

/** Hardware/worker failures on a GPU model's attempts, by host, most first. */
function hostsOfModel(w: StoredWindow, model: string): string {
  const byHost = new Map<string, number>();
  for (const a of w.attempts) {
    if (a.gpuModel !== model || a.outcome === 'passed' || !a.category || !HOST_ATTRIBUTED_CATEGORIES.has(a.category)) continue;
    byHost.set(a.host ?? '?', (byHost.get(a.host ?? '?') ?? 0) + 1);
  }
  return [...byHost.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([h, n]) => `${h} ×${n}`).join(', ') || 'none';
}

function topCategories(byCategory: Record<string, number>): string {
  return Object.entries(byCategory).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c, n]) => `${c} ×${n}`).join(', ');
}

function trailingFailures(history: string): number {
  let n = 0;
  for (let i = history.length - 1; i >= 0 && history[i] === 'F'; i--) n += 1;
  return n;
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

