/** The demo: a local server (if none), a CPU worker and two simulated CUDA workers, the example suite, a final table. */
import path from 'node:path';
import { startLocalFleet } from '../server/local-fleet';
import { REPO_ROOT } from '../server/temporal-cli';
import { asExpected, formatTable, newBatchId, readTaskFile, startTasks, waitForTasks } from './submit';

export const DEMO_WORKERS = [
  { hostId: 'cpu-1' },
  { hostId: 'gpu-8gb', simulateGpus: ['RTX-3070:8:8.6'] },
  { hostId: 'gpu-24gb', simulateGpus: ['RTX-4090:24:8.9'] },
];

export async function runDemo(opts: { suite: string; keep?: boolean }): Promise<boolean> {
  const suite = path.resolve(opts.suite);
  const { tasks } = readTaskFile(suite); // a bad suite stops here, before anything starts
  const say = (m: string) => console.log(`[demo] ${m}`);
  say(`starting a fleet: ${DEMO_WORKERS.map((w) => `${w.hostId}${w.simulateGpus ? ` (simulated ${w.simulateGpus.join(', ')})` : ''}`).join(', ')}`);
  const fleet = await startLocalFleet({ workers: DEMO_WORKERS, log: say, logDir: path.join(REPO_ROOT, '.dtf', 'demo-logs') });
  const stopAll = () => void fleet.stop().then(() => process.exit(130));
  process.once('SIGINT', stopAll);
  try {
    const batchId = newBatchId();
    say(`Web UI: ${fleet.uiUrl} (worker logs in .dtf/demo-logs/)`);
    say(`submitting ${tasks.length} tasks from ${path.relative(REPO_ROOT, suite)} as batch ${batchId}`);
    const handles = await startTasks(fleet.client, tasks, batchId);
    const results = await waitForTasks(handles, tasks, {
      onResult: (r, done, total) => {
        const spec = tasks.find((t) => t.name === r.name)!;
        const mark = asExpected(r, spec) ? 'as expected' : `EXPECTED ${spec.expect}`;
        say(`[${done}/${total}] ${r.name}: ${r.status}${r.hostId ? ` on ${r.hostId}` : ''} (${(r.durationMs / 1000).toFixed(1)} s) — ${mark}`);
      },
      onTick: (done, total) => say(`… ${done}/${total} done`),
    });
    console.log(`\n${formatTable(results, tasks)}\n`);
    const unexpected = results.filter((r, i) => !asExpected(r, tasks[i]));
    say(`Web UI: ${fleet.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`DtfRunId="${batchId}"`)}`);
    say(`or: temporal workflow list --query 'DtfRunId="${batchId}"'   |   npx dtf list --batch ${batchId}`);
    say(unexpected.length ? `${unexpected.length} task(s) did not end as expected: ${unexpected.map((r) => r.name).join(', ')}` : `all ${results.length} tasks ended as expected`);
    return unexpected.length === 0;
  } finally {
    process.removeListener('SIGINT', stopAll);
    if (opts.keep) say('--keep: leaving the server and workers running');
    else {
      say('stopping the workers and the server this demo started');
      await fleet.stop();
    }
  }
}
