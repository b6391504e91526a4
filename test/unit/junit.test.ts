import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mergeAttempts, summarizeCases, testsVerdict } from '../../src/domain/test-results';
import { JunitParseError, junitSummary, parseJunitXml, readJunitReports, secondsToMs } from '../../src/results/junit';

const dir = path.join(__dirname, '..', 'fixtures', 'junit');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const byId = (cases: ReturnType<typeof parseJunitXml>) => Object.fromEntries(cases.map((c) => [c.id, c]));

describe('parseJunitXml on reports of real runs', () => {
  it('pytest (committed fixture from a real run)', () => {
    const cases = parseJunitXml(read('pytest-real.xml'));
    const s = summarizeCases(cases);
    expect(s).toMatchObject({ total: 9, passed: 4, failed: 2, errored: 1, skipped: 2, flaky: 0 });
    const c = byId(cases);
    expect(c['test_sample::test_fails']).toMatchObject({ status: 'failed' });
    expect(c['test_sample::test_fails'].message).toContain('AssertionError: lists differ');
    expect(c['test_sample::test_errors_in_fixture']).toMatchObject({ status: 'errored' });
    expect(c['test_sample::test_errors_in_fixture'].message).toContain('fixture could not connect to the model mirror');
    expect(c['test_sample::test_skipped']).toMatchObject({ status: 'skipped', message: expect.stringContaining('needs a GPU') });
    expect(c['test_sample::test_param[3]']).toMatchObject({ status: 'failed' });
    expect(c['test_sample.TestGroup::test_in_class']).toMatchObject({ status: 'passed' });
    expect(s.cases.map((x) => x.id).sort()).toEqual(
      ['test_sample::test_errors_in_fixture', 'test_sample::test_fails', 'test_sample::test_param[3]', 'test_sample::test_skipped', 'test_sample::test_xfail'].sort(),
    );
  });

  it('jest-junit (committed fixture from a real run)', () => {
    const cases = parseJunitXml(read('jest-junit-real.xml'));
    expect(summarizeCases(cases)).toMatchObject({ total: 5, passed: 2, failed: 2, skipped: 1, errored: 0 });
    const c = byId(cases);
    expect(c['math::fails'].message).toMatch(/^Error: expect\(received\)\.toEqual\(expected\)/);
    expect(c['math nested::skipped'].status).toBe('skipped');
    expect(c['top level throws']).toMatchObject({ status: 'failed', message: expect.stringContaining('TypeError: cannot read properties of undefined') });
  });

  it('Surefire flakyFailure/flakyError (the project\'s own fixture): flaky, with its runs', () => {
    const cases = parseJunitXml(read('surefire-TEST-org.acme.FlakyTest.xml'));
    const s = summarizeCases(cases, { host: 'gpu-1' });
    expect(s).toMatchObject({ total: 2, passed: 1, flaky: 1, failed: 0 });
    const flaky = s.cases[0];
    expect(flaky).toMatchObject({ id: 'org.acme.FlakyTest::testFlaky', status: 'flaky' });
    expect(flaky.message).toContain('expected: <1> but was: <0>');
    expect(flaky.runs!.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'errored', 'passed']);
    expect(testsVerdict(s)).toMatchObject({ status: 'passed', flaky: ['org.acme.FlakyTest::testFlaky'] });
  });

  it('Surefire failures (the project\'s own fixture)', () => {
    const s = summarizeCases(parseJunitXml(read('surefire-TEST-org.apache.maven.surefire.test.FailingTest.xml')));
    expect(s).toMatchObject({ total: 2, failed: 2 });
    expect(s.cases.map((c) => c.id)).toEqual(['org.apache.maven.surefire.test.FailingTest::defaultTestValueIs_Value', 'org.apache.maven.surefire.test.FailingTest::setTestAndRetrieveValue']);
    expect(s.cases[0].message).toMatch(/^java\.lang\.AssertionError/);
  });

  it('Surefire rerunFailure/rerunError in nested suites: still failing, with every run', () => {
    const c = byId(parseJunitXml(read('surefire-rerun.xml')));
    expect(c['org.example.NetTest::downloadsModel']).toMatchObject({ status: 'failed', durationMs: 1200 });
    expect(c['org.example.NetTest::downloadsModel'].runs!.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(c['org.example.NetTest::opensSocket'].runs!.map((r) => r.status)).toEqual(['errored', 'errored']);
    expect(c['org.example.NetTest::opensSocket'].message).toBe('java.net.ConnectException: Connection refused');
    expect(c['org.example.NetTest::parsesHeaders'].status).toBe('passed');
  });

  it('go-junit-report (the project\'s own testdata): subtests, failures, a skip', () => {
    const cases = parseJunitXml(read('go-junit-report-012-report.xml'));
    const s = summarizeCases(cases);
    expect(s).toMatchObject({ total: 11, failed: 4, skipped: 1, passed: 6 });
    const c = byId(cases);
    expect(c['package/subtests::TestSubtests/Subtest#01']).toMatchObject({ status: 'failed', message: 'Failed' });
    expect(c['package/subtests::TestSubtests/Subtest#02']).toMatchObject({ status: 'skipped' });
  });

  it('cargo2junit (the project\'s own expected output)', () => {
    const cases = parseJunitXml(read('cargo2junit-failed.xml'));
    expect(cases.map((c) => `${c.id}:${c.status}`)).toEqual(['tests::fails:failed', 'tests::success:passed']);
    expect(cases[0].message).toBe('cargo test: failed tests::fails');
  });
});

describe('parseJunitXml edge cases', () => {
  it.each([
    ['', /empty file/],
    ['<html><body/></html>', /no <testsuites> or <testsuite>/],
    ['<testsuite><testcase name="a"></testsuite>', /not well-formed XML/],
  ])('%p is refused', (xml, msg) => {
    expect(() => parseJunitXml(xml, 'r.xml')).toThrow(JunitParseError);
    expect(() => parseJunitXml(xml, 'r.xml')).toThrow(msg);
  });

  it('a case without classname takes its suite name; entities are decoded', () => {
    const [c] = parseJunitXml('<testsuite name="S"><testcase name="t &amp; u" time="1,234.5"><failure message="&lt;boom&gt;"/></testcase></testsuite>');
    expect(c).toMatchObject({ id: 'S::t & u', status: 'failed', durationMs: 1234500, message: '<boom>' });
  });

  it('an external entity is refused, never read', () => {
    const xml = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite name="S"><testcase name="t"><failure message="&e;"/></testcase></testsuite>';
    expect(() => parseJunitXml(xml)).toThrow(/External entities are not supported/);
  });

  it.each([
    ['0.034', 34],
    ['', 0],
    ['abc', 0],
    ['-1', 0],
    ['2', 2000],
  ])('secondsToMs(%p) = %p', (s, ms) => expect(secondsToMs(s)).toBe(ms));
});

describe('readJunitReports', () => {
  let ws: string;
  beforeAll(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-junit-'));
    fs.mkdirSync(path.join(ws, 'reports', 'unit'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'pytest-real.xml'), path.join(ws, 'reports', 'unit', 'pytest.xml'));
    fs.copyFileSync(path.join(dir, 'jest-junit-real.xml'), path.join(ws, 'reports', 'jest.xml'));
    fs.writeFileSync(path.join(ws, 'reports', 'broken.xml'), '<testsuite>');
  });
  afterAll(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('a glob reads every match, relative to the workspace, and names the ones it could not parse', async () => {
    const r = await readJunitReports('reports/**/*.xml', ws);
    expect(r.files).toEqual(['reports/jest.xml', 'reports/unit/pytest.xml']);
    expect(r.cases).toHaveLength(14);
    expect(r.problems).toEqual([expect.stringMatching(/^reports\/broken\.xml: not well-formed XML/)]);
  });

  it('a plain path, a missing path, a glob that matches nothing', async () => {
    expect((await readJunitReports('reports/jest.xml', ws)).cases).toHaveLength(5);
    expect((await readJunitReports('nope.xml', ws)).problems).toEqual(['nope.xml: not found']);
    expect((await junitSummary('none/*.xml', ws)).tests).toBeUndefined();
  });

  it('junitSummary sets the host and quarantine', async () => {
    const { tests } = await junitSummary('reports/unit/*.xml', ws, { host: 'cpu-1', quarantine: ['test_sample::test_fails'] });
    expect(tests).toMatchObject({ total: 9, quarantined: 1 });
    expect(tests!.cases.find((c) => c.id === 'test_sample::test_fails')).toMatchObject({ quarantined: true, host: 'cpu-1' });
  });
});

describe('a live pytest run', () => {
  const probe = spawnSync('python3', ['-m', 'pytest', '--version'], { encoding: 'utf8' });
  const available = probe.status === 0;
  if (!available) console.log(`skipping the live pytest run: python3 -m pytest is not available (${(probe.stderr || probe.error?.message || '').trim()})`);
  (available ? it : it.skip)('produces the same cases as the committed fixture', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-pytest-')), 'report.xml');
    const run = spawnSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${out}`, '-o', 'junit_family=xunit2', '.'], {
      cwd: path.join(dir, 'projects', 'pytest-sample'),
      encoding: 'utf8',
    });
    expect(run.status).toBe(1); // tests failed, as designed
    const live = parseJunitXml(fs.readFileSync(out, 'utf8')).map((c) => `${c.id}:${c.status}`);
    const committed = parseJunitXml(read('pytest-real.xml')).map((c) => `${c.id}:${c.status}`);
    expect(live).toEqual(committed);
  });
});

describe('live runs of real runners', () => {
  const pytest = spawnSync('python3', ['-m', 'pytest', '--version'], { encoding: 'utf8' }).status === 0;
  const jestJunit = fs.existsSync(path.join(__dirname, '..', '..', 'node_modules', 'jest-junit'));
  if (!pytest) console.log('skipping the live flaky pytest reruns: python3 -m pytest is not available');
  if (!jestJunit) console.log('skipping the live jest-junit run: node_modules/jest-junit is absent (npm ci)');

  (pytest ? it : it.skip)('a case that fails on the first run (host h1) and passes on the rerun (host h2) is flaky; the task passes', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-flaky-'));
    fs.writeFileSync(
      path.join(ws, 'test_flaky.py'),
      [
        'import os',
        '',
        'def test_stable():',
        '    assert True',
        '',
        'def test_flaky_once():',
        '    marker = os.path.join(os.path.dirname(__file__), "ran-once")',
        '    first = not os.path.exists(marker)',
        '    open(marker, "w").close()',
        '    assert not first, "first run fails"',
        '',
      ].join('\n'),
    );
    const attempts = [];
    for (const host of ['h1', 'h2']) {
      const run = spawnSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=reports/${host}.xml`], { cwd: ws, encoding: 'utf8' });
      expect(run.status).toBe(host === 'h1' ? 1 : 0);
      const { tests } = await junitSummary(`reports/${host}.xml`, ws, { host });
      attempts.push({ host, tests: tests! });
    }
    expect(attempts[0].tests).toMatchObject({ total: 2, failed: 1 });
    const merged = mergeAttempts(attempts)!;
    expect(merged).toMatchObject({ total: 2, passed: 1, failed: 0, flaky: 1 });
    expect(merged.cases).toEqual([
      expect.objectContaining({ id: 'test_flaky::test_flaky_once', status: 'flaky', host: 'h2', runs: [{ status: 'failed', host: 'h1' }, { status: 'passed', host: 'h2' }] }),
    ]);
    expect(merged.cases[0].message).toContain('first run fails');
    expect(testsVerdict(merged)).toMatchObject({ status: 'passed', flaky: ['test_flaky::test_flaky_once'] });
    fs.rmSync(ws, { recursive: true, force: true });
  });

  (jestJunit ? it : it.skip)('jest with jest-junit produces the same cases as the committed fixture', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-jest-')), 'junit.xml');
    const root = path.join(__dirname, '..', '..');
    const run = spawnSync(process.execPath, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', path.join(dir, 'projects', 'jest-sample', 'jest.config.js'), '--reporters=jest-junit', '--ci'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, JEST_JUNIT_OUTPUT_FILE: out, JEST_JUNIT_CLASSNAME: '{classname}', JEST_JUNIT_TITLE: '{title}' },
      timeout: 60_000,
    });
    expect(run.status).toBe(1); // tests failed, as designed
    const live = parseJunitXml(fs.readFileSync(out, 'utf8')).map((c) => `${c.id}:${c.status}`);
    expect(live).toEqual(parseJunitXml(read('jest-junit-real.xml')).map((c) => `${c.id}:${c.status}`));
  });
});
