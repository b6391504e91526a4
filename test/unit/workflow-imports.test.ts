/**
 * Every workflow run evaluates its own copy of the modules the workflow code imports (the SDK isolates module state
 * per run), so what they build as they load is paid once per task. Modules with zod schemas are required only where
 * they are needed (a redrive, a record the workflow writes itself); loading the workflow code must build none.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

describe('the workflow code as it loads', () => {
  const root = path.resolve(__dirname, '..', '..');

  it('pulls in no schema library (built code, in a fresh node process)', () => {
    const script = `
      require(${JSON.stringify(path.join(root, 'dist', 'src', 'workflows', 'index.js'))});
      console.log(JSON.stringify(Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(root)}, f))));
    `;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()) as string[];
    expect(loaded).toContain(path.join('dist', 'src', 'workflows', 'test-task.js'));
    expect(loaded.filter((f) => /node_modules[\\/]zod[\\/]/.test(f))).toEqual([]);
    expect(loaded.filter((f) => /dist[\\/]src[\\/]domain[\\/](task-spec|task-record|test-results|categories|policies|hardware|artifacts)\.js$/.test(f))).toEqual([]);
  });
});
