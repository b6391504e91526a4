/** The report's figures against a batch whose outcomes the test knows, stored in a real SQLite store and read back. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { SEED_BAD_HOST, SEED_BROKEN_CASE, SEED_FLAKY_CASE, SEED_HOST_ATTRIBUTED, seedRecords } from '../../bench/seed-results';
import { generateReport, parseSince, registerReportCommand } from '../../src/cli/report';
import type { TaskRecordInput } from '../../src/domain/task-record';
import { Report, buildReport, isOutOfLine, normaliseMessage, twoProportionZ } from '../../src/results/analytics';
import { renderReport } from '../../src/results/render';
import { openResultsStore } from '../../src/results/store';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const at = (min: number) => new Date(NOW - 6 * 3_600_000 + min * 60_000).toISOString();

type A = NonNullable<TaskRecordInput['attempts']>[number];
function task(name: string, status: TaskRecordInput['status'], attempts: A[], extra: Partial<TaskRecordInput> = {}): TaskRecordInput {
  const i = Number(name.replace(/\D/g, '')) || 0;
  return {
    workflowId: `dtf-${name}-known`, task: name, batchId: 'known', status, hwClass: 'cuda', host: attempts[attempts.length - 1]?.host,
    labels: { suite: i % 2 ? 'odd' : 'even' }, startedAt: at(i * 10), endedAt: at(i * 10 + 5), durationMs: 300_000, attempts, ...extra,
  };
}
const ok = (n: number, host: string, extra: Partial<A> = {}): A => ({ n, host, gpuModel: host === 'h3' ? 'Model B' : 'Model A', outcome: 'passed', placement: 1, attemptInPlacement: n, ...extra });
const err = (n: number, host: string, category: string, extra: Partial<A> = {}): A => ({ ...ok(n, host), outcome: 'error', category, ...extra });
const summary = (cases: NonNullable<TaskRecordInput['tests']>['cases'], total = 10): TaskRecordInput['tests'] => {
  const count = (s: string) => cases.filter((c) => c.status === s).length;
  return { total, passed: total - cases.length, failed: count('failed'), errored: count('errored'), skipped: count('skipped'), flaky: count('flaky'), quarantined: 0, casesOmitted: 0, cases, slowest: [{ id: 'suite::test_slow', durationMs: 9000 }] };
};

/** 12 tasks; the expected figures below are counted by hand from them. */
const KNOWN: TaskRecordInput[] = [
  task('t1', 'passed', [ok(1, 'h1')], { tests: summary([]) }),
  task('t2', 'passed', [err(1, 'h2', 'NETWORK_TIMEOUT_ERROR', { message: 'read timed out' }), ok(2, 'h2')], {
    recoveryActions: [{ at: at(21), placement: 1, attempt: 1, host: 'h2', category: 'NETWORK_TIMEOUT_ERROR', action: 'retry-in-place', reason: 'read timed out' }],
    tests: summary([]),
  }),
  task('t3', 'failed', [{ ...ok(1, 'c1'), outcome: 'failed', category: 'TEST_EXECUTION_ERROR', gpuModel: undefined }], {
    hwClass: 'cpu', category: 'TEST_EXECUTION_ERROR',
    recoveryActions: [{ at: at(31), placement: 1, attempt: 1, host: 'c1', category: 'TEST_EXECUTION_ERROR', action: 'record-test-failure', reason: '1 failed' }],
    tests: summary([{ id: 'suite::test_a', status: 'failed', message: 'AssertionError: 1 != 2', durationMs: 12, host: 'c1' }]),
  }),
  task('t4', 'dead_lettered', [err(1, 'h3', 'UNKNOWN_ERROR', { message: 'boom 123 at 0xdeadbeef' })], {
    category: 'UNKNOWN_ERROR', reason: 'no option left', deadLettered: true,
    recoveryActions: [{ at: at(41), placement: 1, attempt: 1, host: 'h3', category: 'UNKNOWN_ERROR', action: 'fail', reason: 'no option left' }],
  }),
  task('t5', 'passed', [err(1, 'h3', 'HARDWARE_PERFORMANCE_ERROR', { message: 'Xid 79' }), { ...ok(2, 'h1'), placement: 2, attemptInPlacement: 1 }], {
    recoveryActions: [{ at: at(51), placement: 1, attempt: 1, host: 'h3', category: 'HARDWARE_PERFORMANCE_ERROR', action: 'relocate', to: 'dtf-host-h1', reason: 'Xid 79' }],
    tests: summary([{ id: 'suite::test_cuda', status: 'flaky', message: 'illegal memory access', durationMs: 50, host: 'h1', runs: [{ status: 'failed', host: 'h3' }, { status: 'passed', host: 'h1' }] }]),
  }),
  task('t6', 'error', [err(1, 'h3', 'HARDWARE_AVAILABILITY_ERROR', { message: 'no GPU' })], { category: 'HARDWARE_AVAILABILITY_ERROR', reason: 'no host left' }),
  // The same task run four more times: suite::test_net flaky (fails, passes on a rerun) twice.
  ...[7, 8, 9, 10].map((i) =>
    task(`t${i}`, 'passed', [ok(1, i % 2 ? 'h1' : 'h2')], {
      task: 'nightly',
      tests: summary(i % 2 ? [{ id: 'suite::test_net', status: 'flaky', message: 'ConnectionResetError', durationMs: 30, host: 'h1', runs: [{ status: 'failed', host: 'h2' }, { status: 'passed', host: 'h1' }] }] : []),
    }),
  ),
  task('t11', 'passed', [ok(1, 'h1')], { task: 'nightly', tests: summary([]) }),
  task('t12', 'passed', [ok(1, 'h2')], { task: 'nightly', tests: summary([{ id: 'suite::test_net', status: 'failed', message: 'ConnectionResetError', durationMs: 30, host: 'h2' }].map((c) => ({ ...c, status: 'skipped' as const }))) }),
];

describe('buildReport on a known batch', () => {
  let dir: string;
  let report: Report;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-report-'));
    const store = await openResultsStore(`sqlite:${path.join(dir, 'r.db')}`);
    for (const r of KNOWN) await store.writeTask(r);
    await store.writeTask(KNOWN[1]); // a retried write changes nothing
    await store.writeTask(task('other', 'failed', [err(1, 'h1', 'NETWORK_CONNECTION_ERROR')], { batchId: 'another-batch' }));
    await store.close();
    report = (await generateReport({ db: `sqlite:${path.join(dir, 'r.db')}`, batch: 'known', format: 'json', now: NOW })).report;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('outcomes', () => {
    expect(report.tasks).toMatchObject({ total: 12, passed: 9, passRate: 0.75, byStatus: { passed: 9, failed: 1, dead_lettered: 1, error: 1 }, withTests: 10, attempts: 14 });
    expect(report.tests).toMatchObject({ total: 100, failed: 1, flaky: 3, skipped: 1, passed: 95 });
    expect(report.window).toMatchObject({ batchId: 'known' });
    expect(report.window.since).toBeUndefined();
  });

  it('errors by category, host and GPU model', () => {
    expect(report.errorsByCategory).toEqual([
      { category: 'HARDWARE_AVAILABILITY_ERROR', errors: 1, tasks: 1, share: 0.2 },
      { category: 'HARDWARE_PERFORMANCE_ERROR', errors: 1, tasks: 1, share: 0.2 },
      { category: 'NETWORK_TIMEOUT_ERROR', errors: 1, tasks: 1, share: 0.2 },
      { category: 'TEST_EXECUTION_ERROR', errors: 1, tasks: 1, share: 0.2 },
      { category: 'UNKNOWN_ERROR', errors: 1, tasks: 1, share: 0.2 },
    ]);
    const h3 = report.errorsByHost.find((h) => h.name === 'h3')!;
    expect(h3).toMatchObject({ attempts: 3, failures: 3, failureShare: 1, hardwareFailures: 2 });
    expect(report.errorsByHost[0].name).toBe('h3');
    expect(report.errorsByGpuModel.map((g) => `${g.name}:${g.failures}/${g.attempts}`)).toEqual(['Model B:3/3', 'Model A:1/10']);
    expect(report.errorTrends.series.reduce((n, s) => n + s.counts.reduce((a, b) => a + b, 0), 0)).toBe(5);
    expect(report.hostHeatmap.hosts).toEqual(['c1', 'h1', 'h2', 'h3']);
    expect(report.hostHeatmap.failures[3].reduce((a, b) => a + b, 0)).toBe(2); // hardware only: the UNKNOWN_ERROR is not the host's
    expect(report.hostHeatmap.failures[0].reduce((a, b) => a + b, 0)).toBe(0); // a test failure is not the host's
  });

  it('recovery rate and what each action achieved', () => {
    // Needing recovery: t2 (timeout), t4 (unknown), t5 (hardware), t6 (availability); recovered: t2, t5.
    expect(report.recoveryRate).toMatchObject({ needed: 4, recovered: 2, rate: 0.5, target: 0.8, meetsTarget: false, unrecoveredByCategory: { UNKNOWN_ERROR: 1, HARDWARE_AVAILABILITY_ERROR: 1 } });
    expect(report.recoveryActions).toEqual([
      { action: 'fail', taken: 1, tasks: 1, recovered: 0, rate: 0, passed: 0 },
      { action: 'relocate', taken: 1, tasks: 1, recovered: 1, rate: 1, passed: 1 },
      { action: 'retry-in-place', taken: 1, tasks: 1, recovered: 1, rate: 1, passed: 1 },
    ]);
  });

  it('dead letters', () => {
    expect(report.deadLetters.map((d) => `${d.workflowId}:${d.status}:${d.category}`)).toEqual(['dtf-t6-known:error:HARDWARE_AVAILABILITY_ERROR', 'dtf-t4-known:dead_lettered:UNKNOWN_ERROR']);
  });

  it('flaky, failing and slowest tests, with history', () => {
    expect(report.flakyTests.map((t) => `${t.task}/${t.caseId}:${t.history}`)).toEqual(['t5/suite::test_cuda:K', 'nightly/suite::test_net:KPKPPS']);
    const net = report.flakyTests[1];
    expect(net).toMatchObject({ runs: 5, failures: 0, flakyRuns: 2, failedOn: [{ host: 'h2', count: 2 }] });
    expect(report.mostFailingTests.map((t) => `${t.caseId}:${t.failures}`)).toEqual(['suite::test_a:1']);
    expect(report.brokenTests.map((t) => t.caseId)).toEqual(['suite::test_a']);
    expect(report.slowestTests[0]).toMatchObject({ caseId: 'suite::test_slow', meanMs: 9000 });
  });

  it('recommendations, each with its evidence', () => {
    const kinds = report.recommendations.map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['improve-recovery', 'add-classifier-rule', 'quarantine-test', 'inspect-host-for-test', 'fix-test', 'redrive-dead-letters']));
    const rec = report.recommendations.find((r) => r.kind === 'improve-recovery')!;
    expect(rec.evidence).toBe('2 of 4 tasks that hit an infrastructure error reached a test verdict; the unrecovered ended with HARDWARE_AVAILABILITY_ERROR ×1, UNKNOWN_ERROR ×1.');
    expect(report.recommendations.find((r) => r.kind === 'add-classifier-rule')!.evidence).toContain('"boom N at <hex>" ×1');
    // suite::test_net failed twice on h2, and passed on h1 each time it was rerun there: that points at h2 (score 0.5).
    expect(report.hostAttributedTests).toEqual([{ id: 'suite::test_net', task: 'nightly', host: 'h2', hostRuns: 4, hostFailures: 2, otherRuns: 3, otherFailures: 0, score: 0.5 }]);
    expect(report.recommendations.find((r) => r.kind === 'inspect-host-for-test')!.evidence).toContain('failed 2 of 4 runs on h2 and 0 of 3 on other hosts');
    expect(report.recommendations.find((r) => r.kind === 'quarantine-test')!.data.caseId).toBe('suite::test_cuda');
  });

  it('every format renders; json has the documented keys', async () => {
    const json = JSON.parse(renderReport(report, 'json'));
    for (const key of ['tasks', 'errorsByCategory', 'recoveryRate', 'flakyTests', 'recommendations']) expect(json).toHaveProperty(key);
    expect(json.flakyTests[0].caseId).toBe('suite::test_cuda');
    const text = renderReport(report, 'text');
    expect(text).toContain('recovery rate: 50% (2 of 4 tasks');
    expect(text).toMatch(/nightly\s+flaky\s+5\s+0\s+2\s+0%\s+KPKPPS/);
    const md = renderReport(report, 'md');
    expect(md).toContain('| suite::test_net | nightly | flaky | 5 | 0 | 2 | 0% | KPKPPS | h2×2 |');
    const html = renderReport(report, 'html');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//); // self-contained
    expect(html).toContain('<svg role="img" aria-label="errors over time by category"');
    expect(html).toContain('aria-label="failure share per host over time"');
  });

  it('the command writes the chosen format to --out', async () => {
    const out = path.join(dir, 'out', 'report.md');
    const program = new Command('dtf').exitOverride();
    registerReportCommand(program);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await program.parseAsync(['node', 'dtf', 'report', '--db', `sqlite:${path.join(dir, 'r.db')}`, '--batch', 'known', '--format', 'md', '--out', out]);
    } finally {
      log.mockRestore();
    }
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^## dtf report/);
  });

  it('a store that does not exist is a clear error (exit 2), and nothing is created', async () => {
    const missing = path.join(dir, 'missing.db');
    await expect(generateReport({ db: `sqlite:${missing}` })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining(`no results store at ${missing}`) });
    expect(fs.existsSync(missing)).toBe(false);
  });
});

describe('the seeded fleet: the report finds what was planted', () => {
  it('bad host, host-attributed case, flaky and broken tests, last-attempt recoveries, unknown share, error-prone label', () => {
    const records = seedRecords(1500, { now: NOW });
    // Rows as the store would return them are not needed for the planted patterns: go through a real store anyway.
    return (async () => {
      const store = await openResultsStore('sqlite::memory:');
      for (const r of records) await store.writeTask(r);
      const w = await store.loadWindow({ sinceMs: NOW - 24 * 3_600_000 });
      await store.close();
      const report = buildReport(w, { sinceMs: NOW - 24 * 3_600_000, untilMs: NOW, now: NOW });
      const recs = report.recommendations;
      const find = (kind: string, pred: (d: Record<string, unknown>) => boolean = () => true) => recs.find((r) => r.kind === kind && pred(r.data));
      expect(find('quarantine-host', (d) => d.host === SEED_BAD_HOST)).toBeDefined();
      expect(recs.filter((r) => r.kind === 'quarantine-host').map((r) => r.data.host)).toEqual([SEED_BAD_HOST]);
      expect(find('inspect-host-for-test', (d) => d.host === SEED_HOST_ATTRIBUTED.host && d.caseId === SEED_HOST_ATTRIBUTED.caseId)).toBeDefined();
      expect(find('quarantine-test', (d) => d.caseId === SEED_FLAKY_CASE)).toBeDefined();
      expect(find('fix-test', (d) => d.caseId === SEED_BROKEN_CASE)).toBeDefined();
      expect(find('raise-max-attempts', (d) => d.category === 'NETWORK_TIMEOUT_ERROR')).toBeDefined();
      expect(find('add-classifier-rule')).toBeDefined();
      expect(find('check-configuration', (d) => d.key === 'python' && d.value === '3.13')).toBeDefined();
      expect(report.outOfLine.hosts.map((h) => h.name)).toContain(SEED_BAD_HOST);
      expect(report.flakyTests.some((t) => t.caseId === SEED_FLAKY_CASE)).toBe(true);
      expect(report.recoveryRate.meetsTarget).toBe(true);
    })();
  });
});

describe('helpers', () => {
  it.each([
    ['24h', NOW - 24 * 3_600_000],
    ['30m', NOW - 30 * 60_000],
    ['7d', NOW - 7 * 86_400_000],
    ['2w', NOW - 14 * 86_400_000],
    ['2026-11-01', Date.parse('2026-11-01')],
  ])('parseSince(%p)', (v, ms) => expect(parseSince(v, NOW)).toBe(ms));
  it('parseSince refuses nonsense', () => expect(() => parseSince('yesterday', NOW)).toThrow(/--since "yesterday"/));
  it.each([
    [10, 20, 5, 200, true],
    [3, 4, 5, 200, false], // too few samples
    [10, 100, 80, 1000, false], // 10 % against 8 %: not twice
    [0, 50, 0, 50, false],
  ])('isOutOfLine(%p/%p vs %p/%p) = %p', (a, n, b, m, expected) => expect(isOutOfLine(a, n, b, m)).toBe(expected));
  it('twoProportionZ', () => {
    expect(twoProportionZ(10, 20, 5, 200)).toBeGreaterThan(6);
    expect(twoProportionZ(1, 10, 10, 100)).toBe(0);
  });
  it('normaliseMessage folds numbers, hex and paths', () => {
    expect(normaliseMessage('segfault at 0x7f3a in /usr/lib/libfoo.so pid 4312')).toBe('segfault at <hex> in <path> pid N');
  });
});
