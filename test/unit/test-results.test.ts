import {
  MAX_CASE_MESSAGE_CHARS,
  MAX_LISTED_CASES,
  ParsedCase,
  TaskTestsRun,
  TestsSummary,
  caseHealth,
  caseId,
  hostAttribution,
  mergeAttempts,
  quarantineMatcher,
  summarizeCases,
  testsVerdict,
} from '../../src/domain/test-results';

const pc = (id: string, status: ParsedCase['status'], extra: Partial<ParsedCase> = {}): ParsedCase => ({ id, status, durationMs: 10, ...extra });

describe('caseId', () => {
  it.each([
    ['tests.test_a', 'test_x', 'tests.test_a::test_x'],
    [undefined, 'lonely', 'lonely'],
    ['  ', ' spaced ', 'spaced'],
    ['c', '', 'c::(unnamed)'],
  ])('%p + %p → %p', (classname, name, id) => expect(caseId(classname, name)).toBe(id));
});

describe('summarizeCases', () => {
  it('counts exactly and lists non-passing cases, worst first when cut', () => {
    const cases: ParsedCase[] = [
      ...Array.from({ length: 300 }, (_, i) => pc(`s::skip${i}`, 'skipped')),
      ...Array.from({ length: 250 }, (_, i) => pc(`f::fail${i}`, 'failed', { message: 'x'.repeat(2000) })),
      ...Array.from({ length: 1000 }, (_, i) => pc(`p::pass${i}`, 'passed', { durationMs: i })),
      pc('k::flaky', 'flaky'),
    ];
    const s = summarizeCases(cases, { host: 'h1' });
    expect(s).toMatchObject({ total: 1551, passed: 1000, failed: 250, skipped: 300, flaky: 1, errored: 0 });
    expect(s.cases).toHaveLength(MAX_LISTED_CASES);
    expect(s.casesOmitted).toBe(551 - MAX_LISTED_CASES);
    expect(s.cases.every((c) => c.status === 'failed')).toBe(true);
    expect(s.cases[0].message!.length).toBe(MAX_CASE_MESSAGE_CHARS);
    expect(s.cases[0].host).toBe('h1');
    expect(s.slowest[0]).toEqual({ id: 'p::pass999', durationMs: 999 });
    expect(TestsSummary.parse(s)).toEqual(s);
    expect(JSON.stringify(s).length).toBeLessThan(200_000);
  });

  it('counts quarantined failures', () => {
    const s = summarizeCases([pc('a::x', 'failed'), pc('a::y', 'failed'), pc('b::z', 'passed')], { quarantine: ['a::x'] });
    expect(s.quarantined).toBe(1);
    expect(s.cases.find((c) => c.id === 'a::x')?.quarantined).toBe(true);
    expect(s.cases.find((c) => c.id === 'a::y')?.quarantined).toBeUndefined();
  });
});

describe('quarantineMatcher', () => {
  it.each([
    [['a::x'], 'a::x', true],
    [['a::x'], 'a::xy', false],
    [['tests/test_net.py::*'], 'tests/test_net.py::test_dns', true],
    [['*::test_dns'], 'x.y::test_dns', true],
    [['a.b::t[1]'], 'a.b::t[1]', true],
    [['a.*'], 'ab', false],
    [[], 'anything', false],
  ])('%j matches %p: %p', (patterns, id, expected) => expect(quarantineMatcher(patterns)(id)).toBe(expected));
});

const summary = (cases: ParsedCase[], host?: string) => summarizeCases(cases, { host });

describe('mergeAttempts', () => {
  const table: { name: string; attempts: { host: string; cases: ParsedCase[] }[]; quarantine?: string[]; expect: Partial<TestsSummary>; verdict: 'passed' | 'failed'; flaky?: string[]; runs?: Record<string, string> }[] = [
    {
      name: 'failed then passed on another host: flaky, task passes',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'failed', { message: 'boom' }), pc('t::b', 'passed')] },
        { host: 'h2', cases: [pc('t::a', 'passed'), pc('t::b', 'passed')] },
      ],
      expect: { total: 2, passed: 1, failed: 0, flaky: 1 },
      verdict: 'passed',
      flaky: ['t::a'],
      runs: { 't::a': 'failed@h1 passed@h2' },
    },
    {
      name: 'failed in every attempt: failed, task fails',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'failed'), pc('t::b', 'passed')] },
        { host: 'h2', cases: [pc('t::a', 'failed'), pc('t::b', 'passed')] },
      ],
      expect: { total: 2, passed: 1, failed: 1, flaky: 0 },
      verdict: 'failed',
      runs: { 't::a': 'failed@h1 failed@h2' },
    },
    {
      name: 'rerun of the failed cases only (pytest --lf): absent from a complete list means passed',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'failed'), pc('t::b', 'errored'), pc('t::c', 'passed')] },
        { host: 'h2', cases: [pc('t::a', 'passed'), pc('t::b', 'passed')] },
      ],
      expect: { total: 2, passed: 0, failed: 0, errored: 0, flaky: 2 },
      verdict: 'passed',
      flaky: ['t::a', 't::b'],
    },
    {
      name: 'passed, then failed: the last attempt decides',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'passed')] },
        { host: 'h2', cases: [pc('t::a', 'failed')] },
      ],
      expect: { failed: 1, flaky: 0 },
      verdict: 'failed',
      runs: { 't::a': 'passed@h1 failed@h2' },
    },
    {
      name: 'still failing but quarantined: counted, task passes',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'failed'), pc('t::b', 'passed')] },
        { host: 'h1', cases: [pc('t::a', 'failed'), pc('t::b', 'passed')] },
      ],
      quarantine: ['t::a'],
      expect: { failed: 1, quarantined: 1 },
      verdict: 'passed',
    },
    {
      name: 'runner-level flaky (Surefire flakyFailure) in a single attempt',
      attempts: [{ host: 'h1', cases: [pc('t::a', 'flaky', { runs: [{ status: 'failed' }, { status: 'passed' }] }), pc('t::b', 'passed')] }],
      expect: { total: 2, passed: 1, flaky: 1 },
      verdict: 'passed',
      flaky: ['t::a'],
      runs: { 't::a': 'failed@h1 passed@h1' },
    },
    {
      name: 'skipped in the last attempt stays skipped',
      attempts: [
        { host: 'h1', cases: [pc('t::a', 'failed')] },
        { host: 'h2', cases: [pc('t::a', 'skipped')] },
      ],
      expect: { skipped: 1, flaky: 0, failed: 0 },
      verdict: 'passed',
    },
  ];

  it.each(table)('$name', (row) => {
    const merged = mergeAttempts(
      row.attempts.map((a) => ({ host: a.host, tests: summary(a.cases, a.host) })),
      { quarantine: row.quarantine },
    )!;
    expect(merged).toMatchObject(row.expect);
    const v = testsVerdict(merged);
    expect(v.status).toBe(row.verdict);
    if (row.flaky) expect(v.flaky).toEqual(row.flaky);
    for (const [id, runs] of Object.entries(row.runs ?? {})) {
      const c = merged.cases.find((x) => x.id === id)!;
      expect(c.runs!.map((r) => `${r.status}@${r.host}`).join(' ')).toBe(runs);
    }
    expect(merged.passed + merged.failed + merged.errored + merged.skipped + merged.flaky).toBe(merged.total);
  });

  it('keeps the failure message of a flaky case', () => {
    const merged = mergeAttempts([
      { host: 'h1', tests: summary([pc('t::a', 'failed', { message: 'AssertionError: 1 != 2' })], 'h1') },
      { host: 'h2', tests: summary([pc('t::a', 'passed')], 'h2') },
    ])!;
    expect(merged.cases[0]).toMatchObject({ id: 't::a', status: 'flaky', message: 'AssertionError: 1 != 2' });
  });

  it('a verdict fails when failures were left out of the list', () => {
    const s: TestsSummary = { total: 300, passed: 0, failed: 300, errored: 0, skipped: 0, flaky: 0, quarantined: 0, cases: [], casesOmitted: 300, slowest: [] };
    expect(testsVerdict(s).status).toBe('failed');
  });
});

const run = (task: string, at: number, host: string, cases: TaskTestsRun['cases'], complete = true): TaskTestsRun => ({ task, runId: `${task}-${at}`, at, host, complete, cases });
const failed = (id: string, host?: string) => ({ id, status: 'failed' as const, durationMs: 5, host, message: `${id} failed` });

describe('caseHealth', () => {
  // history: P passed (unlisted in a complete run), F failed, K flaky
  const build = (pattern: string, task = 'suite') =>
    [...pattern].map((ch, i) =>
      run(task, i, 'h1', ch === 'F' ? [failed('t::a')] : ch === 'K' ? [{ id: 't::a', status: 'flaky' as const, durationMs: 5, runs: [{ status: 'failed' as const }, { status: 'passed' as const }] }] : ch === 'x' ? [] : []),
    );
  it.each([
    ['FPPPP', 'healthy', 0.2, 'FPPPP'],
    ['PPPPF', 'healthy', 0.2, 'PPPPF'],
    ['PPPFF F'.replace(' ', ''), 'broken', 0.5, 'PPPFFF'],
    ['PFPPF', 'flaky', 0.4, 'PFPPF'],
    ['PPKPP', 'flaky', 0, 'PPKPP'],
    ['FFFPP', 'healthy', 0.6, 'FFFPP'],
    ['F', 'broken', 1, 'F'],
    ['PPFPP', 'flaky', 0.2, 'PPFPP'],
  ])('%p → %p (failure rate %p)', (pattern, state, rate, history) => {
    const [h] = caseHealth(build(pattern));
    expect(h).toMatchObject({ state, failureRate: rate, history });
  });

  it('honours the window and ignores runs whose list was cut', () => {
    const runs = [...build('FFFFF'), ...build('PPP').map((r) => ({ ...r, at: r.at + 10 })), run('suite', 20, 'h1', [], false)];
    const [h] = caseHealth(runs, { window: 4 });
    expect(h).toMatchObject({ history: 'FPPP', runs: 4, failures: 1, state: 'healthy' });
  });

  it('keys cases by task', () => {
    const health = caseHealth([run('t1', 1, 'h', [failed('x')]), run('t2', 1, 'h', [])]);
    expect(health.map((c) => `${c.task}/${c.id}`)).toEqual(['t1/x']);
  });
});

describe('hostAttribution', () => {
  it('points at the host a case fails on and passes elsewhere, repeatedly', () => {
    const runs = [
      // flaky reruns: fails on gpu-3, passes on the rerun elsewhere
      ...[1, 2, 3].map((i) =>
        run('suite', i, 'gpu-1', [{ id: 't::cuda', status: 'flaky', durationMs: 1, runs: [{ status: 'failed', host: 'gpu-3' }, { status: 'passed', host: 'gpu-1' }] }]),
      ),
      run('suite', 4, 'gpu-2', []),
      // a broken test fails everywhere: never attributed to a host
      ...[5, 6, 7, 8].map((i) => run('broken', i, `gpu-${(i % 3) + 1}`, [failed('t::always')])),
    ];
    const found = hostAttribution(runs);
    expect(found).toEqual([{ id: 't::cuda', task: 'suite', host: 'gpu-3', hostRuns: 3, hostFailures: 3, otherRuns: 4, otherFailures: 0, score: 1 }]);
  });

  it.each([
    ['one failure is not "repeatedly"', [['h1', true], ['h2', false], ['h2', false]], 0],
    ['no evidence elsewhere', [['h1', true], ['h1', true], ['h2', false]], 0],
    ['flaky everywhere scores low', [['h1', true], ['h1', false], ['h2', true], ['h2', false], ['h3', true], ['h3', false]], 0],
    ['mostly on h1', [['h1', true], ['h1', true], ['h1', false], ['h2', false], ['h2', false], ['h3', false]], 1],
  ] as [string, [string, boolean][], number][])('%s', (_name, execs, reported) => {
    const runs = execs.map(([host, f], i) => run('s', i, host, f ? [failed('t::x', host)] : []));
    expect(hostAttribution(runs)).toHaveLength(reported);
  });
});
