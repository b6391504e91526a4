import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_TASK_RECORD, RESULTS_STORE_MISCONFIGURED, RESULTS_STORE_UNAVAILABLE, createResultsActivities } from '../../src/activities/results';
import { openResultsStore, ResultsStore } from '../../src/results/store';
import { sampleRecord } from '../results-helpers';

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

describe('recordTaskResult', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-acts-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('validates and writes; a retried call does not duplicate', async () => {
    const url = `sqlite:${path.join(dir, 'r.db')}`;
    const acts = createResultsActivities(url);
    expect(Object.keys({ ...acts })).toEqual(['recordTaskResult']); // close() is not registered as an activity
    const rec = sampleRecord();
    await expect(acts.recordTaskResult(rec)).resolves.toEqual({ workflowId: rec.workflowId, store: url });
    await acts.recordTaskResult(rec);
    await acts.close();
    const store = await openResultsStore(url);
    expect(await store.countTasks()).toBe(1);
    await store.close();
  });

  it('an invalid record is a non-retryable failure naming the field', async () => {
    const acts = createResultsActivities(`sqlite:${path.join(dir, 'r.db')}`);
    const f = await failure(acts.recordTaskResult({ ...sampleRecord(), endedAt: 'yesterday' }));
    expect(f).toMatchObject({ type: INVALID_TASK_RECORD, nonRetryable: true });
    expect(f.message).toMatch(/endedAt/);
    await acts.close();
  });

  it('a bad DTF_RESULTS_DB is non-retryable', async () => {
    const f = await failure(createResultsActivities('mysql://nope').recordTaskResult(sampleRecord()));
    expect(f).toMatchObject({ type: RESULTS_STORE_MISCONFIGURED, nonRetryable: true });
  });

  it('a database that cannot be opened or written is retryable, and the next call opens it again', async () => {
    let opens = 0;
    let writes = 0;
    const acts = createResultsActivities('sqlite:x.db', {
      open: async () => {
        opens += 1;
        if (opens === 1) throw new Error('unable to open database file');
        return {
          kind: 'sqlite', location: 'sqlite:x.db',
          writeTask: async () => {
            writes += 1;
            if (writes === 1) throw new Error('database is locked');
          },
        } as unknown as ResultsStore;
      },
    });
    const first = await failure(acts.recordTaskResult(sampleRecord()));
    expect(first).toMatchObject({ type: RESULTS_STORE_UNAVAILABLE, nonRetryable: false });
    expect(first.message).toBe('results store sqlite:x.db: unable to open database file');
    expect((await failure(acts.recordTaskResult(sampleRecord()))).message).toMatch(/database is locked/);
    await expect(acts.recordTaskResult(sampleRecord())).resolves.toMatchObject({ workflowId: 'dtf-train-smoke-b1' });
    expect(opens).toBe(2);
  });

  it('a PostgreSQL server that is not there is retryable', async () => {
    const f = await failure(createResultsActivities('postgres://dtf@127.0.0.1:1/none').recordTaskResult(sampleRecord()));
    expect(f).toMatchObject({ type: RESULTS_STORE_UNAVAILABLE, nonRetryable: false });
    expect(f.message).toMatch(/^results store postgres:\/\/dtf@127\.0\.0\.1:1\/none: .*ECONNREFUSED/);
  });
});
