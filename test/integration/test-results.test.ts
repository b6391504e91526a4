/**
 * Per-test-case results on a real server with real workers and real test runners (pytest, jest with jest-junit):
 * counts and case ids, a flaky case told across two hosts, a quarantined case, and the results store and report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateReport } from '../../src/cli/report';
import { newBatchId, startTasks, waitForTasks } from '../../src/cli/submit';
import { LocalFleet } from '../../src/server/local-fleet';
import { REPO_ROOT } from '../../src/server/temporal-cli';
import { runTask, spec, startTestFleet } from '../helpers';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-tests-'));
const db = `sqlite:${path.join(root, 'results.db')}`;
const suite = path.join(root, 'suite');
fs.mkdirSync(suite);
fs.writeFileSync(
  path.join(suite, 'test_sample.py'),
  [
    'import os, pytest',
    'def test_ok():',
    '    assert 1 + 1 == 2',
    'def test_bad():',
    '    assert 1 == 2, "one is not two"',
    '@pytest.mark.skip(reason="not on this platform")',
    'def test_skipped():',
    '    pass',
    '',
  ].join('\n'),
);
fs.writeFileSync(
  path.join(suite, 'test_flaky.py'),
  [
    'import os',
    'def test_ok():',
    '    pass',
    'def test_sometimes():',
    '    marker = os.environ["FLAKY_MARKER"]',
    '    if not os.path.exists(marker):',
    '        open(marker, "w").write(os.environ["DTF_HOST"])',
    '        assert False, "first run fails"',
    '',
  ].join('\n'),
);
const pytest = (file: string) => ['python3', '-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(suite, file), '--junitxml=report.xml'];

let fleet: LocalFleet;
beforeAll(async () => {
  const env = { DTF_RESULTS_DB: db };
  fleet = await startTestFleet([{ hostId: 'tr-a', env }, { hostId: 'tr-b', env }]);
});
afterAll(() => fleet?.stop());

test('pytest through dtf: counts and failing case ids from its JUnit report, and the task is failed', async () => {
  const r = await runTask(fleet.client, { name: 'pytest-sample', command: pytest('test_sample.py'), junit: 'report.xml' });
  expect(r.status).toBe('failed');
  expect(r.tests).toMatchObject({ total: 3, passed: 1, failed: 1, skipped: 1, flaky: 0 });
  const bad = r.tests!.cases.find((c) => c.status === 'failed')!;
  expect(bad.id).toMatch(/test_sample::test_bad$/); // pytest's classname carries the path from its rootdir
  expect(bad.message).toMatch(/one is not two/);
  expect(r.tests!.cases.some((c) => c.id.endsWith('test_sample::test_skipped') && c.status === 'skipped')).toBe(true);
});

test('jest with jest-junit through dtf: the same summary from another runner', async () => {
  const dir = path.join(root, 'jest-suite');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'sum.test.js'), "test('adds', () => expect(1 + 2).toBe(3));\ntest('subtracts', () => expect(3 - 1).toBe(1));\n");
  fs.writeFileSync(path.join(dir, 'jest.config.js'), "module.exports = { rootDir: __dirname, testEnvironment: 'node' };\n");
  const r = await runTask(fleet.client, {
    name: 'jest-sample',
    command: [process.execPath, path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', `--reporters=${path.join(REPO_ROOT, 'node_modules', 'jest-junit')}`],
    cwd: dir, // jest looks for its config from the working directory up
    env: { JEST_JUNIT_OUTPUT_DIR: '.', JEST_JUNIT_OUTPUT_NAME: 'junit.xml' },
    junit: 'junit.xml',
  });
  expect([r.status, r.outputTail]).toEqual(['failed', expect.anything()]);
  expect(r.tests).toMatchObject({ total: 2, passed: 1, failed: 1 });
  expect(r.tests!.cases.find((c) => c.status === 'failed')?.id).toMatch(/subtracts$/);
});

test('a case that fails on one host and passes on the rerun on another is flaky: the task passes and names it', async () => {
  const marker = path.join(root, 'flaky-marker');
  const r = await runTask(fleet.client, { name: 'pytest-flaky', command: pytest('test_flaky.py'), junit: 'report.xml', flakyReruns: 1, env: { FLAKY_MARKER: marker } });
  expect(r.status).toBe('passed');
  expect(r.tests).toMatchObject({ total: 2, flaky: 1, failed: 0 });
  const flaky = r.tests!.cases.find((c) => c.status === 'flaky')!;
  expect(flaky.id).toMatch(/test_flaky::test_sometimes$/);
  const firstHost = fs.readFileSync(marker, 'utf8');
  expect(r.hostId).not.toBe(firstHost); // the rerun ran on the other host
  expect(flaky.runs?.map((x) => x.host)).toEqual([firstHost, r.hostId]);
  expect(r.recoveryLog.find((e) => e.action === 'flaky-rerun')).toMatchObject({ to: `dtf-host-${r.hostId}` });
});

test('a quarantined case fails without failing the task, and is counted', async () => {
  const r = await runTask(fleet.client, { name: 'pytest-quarantine', command: pytest('test_sample.py'), junit: 'report.xml', quarantinedTests: ['*::test_bad'] });
  expect(r.status).toBe('passed');
  expect(r.tests).toMatchObject({ failed: 1, quarantined: 1 });
  expect(r.tests!.cases.find((c) => c.id.endsWith('test_sample::test_bad'))).toMatchObject({ status: 'failed', quarantined: true });
});

test('every task of a batch lands in the results store, and the report counts it as it ended', async () => {
  const batch = newBatchId();
  const specs = [
    spec({ name: 'st-pass', command: ['true'] }),
    spec({ name: 'st-fail', command: pytest('test_sample.py'), junit: 'report.xml' }),
    spec({ name: 'st-error', command: [process.execPath, '-e', "console.error('Error: Cannot find module \\'left-pad\\''); process.exit(1)"], deadLetterRetentionSeconds: 0 }),
  ];
  const results = await waitForTasks(await startTasks(fleet.client, specs, batch), specs);
  expect(results.map((r) => r.status)).toEqual(['passed', 'failed', 'error']);
  // The write happens as each workflow ends; give the last one a moment.
  let report;
  for (let i = 0; i < 40; i += 1) {
    report = (await generateReport({ db, batch, format: 'json' })).report;
    if (report.tasks.total === 3) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(report!.tasks).toMatchObject({ total: 3, passed: 1, byStatus: { passed: 1, failed: 1, error: 1 }, withTests: 1 });
  expect(report!.tests).toMatchObject({ total: 3, failed: 1, skipped: 1 });
  expect(report!.errorsByCategory.map((e) => e.category)).toEqual(expect.arrayContaining(['TEST_DEPENDENCY_ERROR']));
});
