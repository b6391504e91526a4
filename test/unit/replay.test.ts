/**
 * Replays recorded histories of every kind of path (test/fixtures/histories/, recorded by `npm run
 * record:histories`) against the current workflow code: a change that would break running tasks fails here.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { workflowBundlePath } from '../../src/workers/host-worker';

const DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];

describe('recorded histories replay against the current workflow code', () => {
  it('has a history of each kind of path', () => {
    expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual(
      expect.arrayContaining(['passed', 'recovered-in-place', 'fallback-to-cpu', 'dead-lettered-redriven', 'reassigned', 'continued-as-new', 'after-continue-as-new', 'passed-with-results-store', 'flaky-rerun', 'cancelled-running', 'cancelled-dead-lettered', 'checkpoint-resumed']),
    );
  });

  it.each(files)('%s', async (file) => {
    const bundle = workflowBundlePath();
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
    await Worker.runReplayHistory(
      bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../../src/workflows') },
      history,
      file,
    );
  });
});
