/** The results store on a real PostgreSQL server: a throwaway cluster started here, or skipped with the reason. */
import { openResultsStore } from '../../src/results/store';
import { createResultsActivities } from '../../src/activities/results';
import { PgCluster, startPgCluster } from '../pg-cluster';
import { checkStoreContract, sampleRecord } from '../results-helpers';

let cluster: PgCluster | undefined;
let skipReason: string | undefined;

beforeAll(async () => {
  const started = await startPgCluster();
  if ('skip' in started) {
    skipReason = started.skip;
    console.log(`skipping the PostgreSQL store tests: ${skipReason}`);
  } else cluster = started;
}, 120_000);

afterAll(() => cluster?.stop());

const pgIt = (name: string, fn: (url: string) => Promise<void>) =>
  it(name, async () => {
    if (!cluster) return console.log(`skipped "${name}": ${skipReason}`);
    await fn(cluster.url);
  });

describe('results store on PostgreSQL', () => {
  pgIt('keeps the same contract as SQLite', async (url) => {
    const store = await openResultsStore(url);
    try {
      expect(store.kind).toBe('postgres');
      expect(store.location).toMatch(/^postgres:\/\/dtf@127\.0\.0\.1:\d+\/postgres$/);
      await checkStoreContract(store);
    } finally {
      await store.close();
    }
  });

  pgIt('several processes migrating at once apply each migration once', async (url) => {
    const stores = await Promise.all([1, 2, 3].map(() => openResultsStore(url)));
    expect(await Promise.all(stores.map((s) => s.schemaVersion()))).toEqual([1, 1, 1]);
    await Promise.all(stores.map((s) => s.close()));
  });

  pgIt('the activity writes through it, and a retried write does not duplicate', async (url) => {
    const acts = createResultsActivities(url);
    const rec = sampleRecord({ workflowId: 'dtf-activity-pg' });
    await acts.recordTaskResult(rec);
    await acts.recordTaskResult(rec);
    const store = await openResultsStore(url);
    const w = await store.loadWindow();
    expect(w.tasks.filter((t) => t.workflowId === 'dtf-activity-pg')).toHaveLength(1);
    expect(w.attempts.filter((a) => a.workflowId === 'dtf-activity-pg')).toHaveLength(2);
    await store.close();
    await acts.close();
  });
});
