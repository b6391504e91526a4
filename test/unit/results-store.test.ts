import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION } from '../../src/results/migrations';
import { DEFAULT_RESULTS_DB, describeLocation, openResultsStore, resolveResultsDb, ResultsStoreMissingError } from '../../src/results/store';
import { checkStoreContract, sampleRecord } from '../results-helpers';

describe('resolveResultsDb', () => {
  it.each([
    [undefined, { kind: 'sqlite', path: '.dtf/results.db' }],
    ['', { kind: 'sqlite', path: '.dtf/results.db' }],
    ['sqlite:/var/lib/dtf/r.db', { kind: 'sqlite', path: '/var/lib/dtf/r.db' }],
    ['sqlite://rel/r.db', { kind: 'sqlite', path: 'rel/r.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['results.sqlite', { kind: 'sqlite', path: 'results.sqlite' }],
    ['postgres://dtf:pw@db:5432/dtf', { kind: 'postgres', url: 'postgres://dtf:pw@db:5432/dtf' }],
    ['postgresql://db/dtf', { kind: 'postgres', url: 'postgresql://db/dtf' }],
  ])('%p → %j', (value, loc) => {
    const saved = process.env.DTF_RESULTS_DB;
    delete process.env.DTF_RESULTS_DB;
    try {
      expect(resolveResultsDb(value)).toEqual(loc);
    } finally {
      if (saved !== undefined) process.env.DTF_RESULTS_DB = saved;
    }
  });
  it('refuses what it cannot read, and hides passwords', () => {
    expect(() => resolveResultsDb('mysql://x')).toThrow(/expected sqlite:PATH or postgres:/);
    expect(describeLocation({ kind: 'postgres', url: 'postgres://dtf:secret@db:5432/dtf' })).toBe('postgres://dtf:***@db:5432/dtf');
    expect(DEFAULT_RESULTS_DB).toBe('sqlite:.dtf/results.db');
  });
});

describe('results store on SQLite', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the contract: idempotent writes per workflow id, replaced rows, windows', async () => {
    const store = await openResultsStore(`sqlite:${path.join(dir, 'nested', 'results.db')}`);
    try {
      expect(store.kind).toBe('sqlite');
      await checkStoreContract(store);
    } finally {
      await store.close();
    }
  });

  it('migrates once, records the version, and the schema has the documented tables', async () => {
    const file = path.join(dir, 'r.db');
    await (await openResultsStore(`sqlite:${file}`)).close();
    const again = await openResultsStore(`sqlite:${file}`); // a second open applies nothing
    expect(await again.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
    await again.close();
    const db = new BetterSqlite3(file, { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['attempts', 'error_reports', 'recovery_actions', 'schema_migrations', 'task_labels', 'tasks', 'test_cases']);
    expect(db.prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }]);
    db.close();
  });

  it('two stores (two workers) on one file: both write, neither duplicates', async () => {
    const url = `sqlite:${path.join(dir, 'shared.db')}`;
    const [a, b] = await Promise.all([openResultsStore(url), openResultsStore(url)]);
    await Promise.all([a.writeTask(sampleRecord()), b.writeTask(sampleRecord()), a.writeTask(sampleRecord({ workflowId: 'dtf-other' }))]);
    expect(await b.countTasks()).toBe(2);
    await Promise.all([a.close(), b.close()]);
  });

  it('a reader that needs an existing store says so', async () => {
    await expect(openResultsStore(`sqlite:${path.join(dir, 'absent.db')}`, { mustExist: true })).rejects.toThrow(ResultsStoreMissingError);
    expect(fs.existsSync(path.join(dir, 'absent.db'))).toBe(false);
  });
});
