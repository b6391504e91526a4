/**
 * The results store: every finished task, its attempts, error reports, recovery actions and test cases, in SQL.
 * One interface, two backends: embedded SQLite (better-sqlite3) by default, at `.dtf/results.db` under the current
 * directory or `DTF_RESULTS_DB=sqlite:PATH`; PostgreSQL (pg) when `DTF_RESULTS_DB=postgres://…`. Migrations are
 * versioned (src/results/migrations) and applied when a store is opened. Writes are idempotent per workflow id: a
 * task written again (a retried activity, a redriven task) replaces its rows, in one transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { TaskRecord, TaskRecordInput } from '../domain/task-record';
import { MIGRATIONS, LATEST_SCHEMA_VERSION } from './migrations';

export const DEFAULT_RESULTS_DB = 'sqlite:.dtf/results.db';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `DTF_RESULTS_DB` (or an explicit value): `sqlite:PATH`, a path ending in .db/.sqlite, or `postgres(ql)://…`. */
export function resolveResultsDb(value: string | undefined = process.env.DTF_RESULTS_DB): StoreLocation {
  const v = (value ?? '').trim() || DEFAULT_RESULTS_DB;
  if (/^postgres(ql)?:\/\//i.test(v)) return { kind: 'postgres', url: v };
  if (/^sqlite:/i.test(v)) {
    const p = v.replace(/^sqlite:(\/\/)?/i, '');
    if (!p) throw new Error(`DTF_RESULTS_DB "${value}": expected sqlite:PATH`);
    return { kind: 'sqlite', path: p };
  }
  if (/\.(db|sqlite3?)$/i.test(v) || v === ':memory:') return { kind: 'sqlite', path: v };
  throw new Error(`DTF_RESULTS_DB "${value}": expected sqlite:PATH or postgres://user:pass@host:port/db`);
}

/** A location for messages: a PostgreSQL password is hidden. */
export function describeLocation(loc: StoreLocation): string {
  if (loc.kind === 'sqlite') return `sqlite:${loc.path}`;
  try {
    const u = new URL(loc.url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export interface WindowFilter {
  /** Tasks that ended at or after this time (epoch ms). */
  sinceMs?: number;
  untilMs?: number;
  batchId?: string;
}

export interface StoredTask {
  workflowId: string;
  runId?: string;
  task: string;
  batchId?: string;
  status: string;
  hwClass: string;
  queue?: string;
  host?: string;
  labels: Record<string, string>;
  category?: string;
  reason?: string;
  exitCode?: number;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  attemptCount: number;
  deadLettered: boolean;
  tests?: { total: number; passed: number; failed: number; errored: number; skipped: number; flaky: number; quarantined: number; casesOmitted: number; slowest: { id: string; durationMs: number }[] };
}

export interface StoredAttempt {
  workflowId: string;
  n: number;
  placement?: number;
  attemptInPlacement?: number;
  host?: string;
  gpuModel?: string;
  queue?: string;
  outcome: string;
  category?: string;
  kind?: string;
  rule?: string;
  maxAttemptsInPlace?: number;
  exitCode?: number;
  durationMs?: number;
  startedAt?: number;
}

export interface StoredErrorReport {
  workflowId: string;
  attemptN: number;
  category: string;
  kind?: string;
  rule?: string;
  host?: string;
  gpuModel?: string;
  message?: string;
  overheating: boolean;
  memoryPressure: boolean;
  throttling: boolean;
  hardwareWarnings: string[];
  at: number;
}

export interface StoredRecoveryAction {
  workflowId: string;
  seq: number;
  at: number;
  placement: number;
  attempt?: number;
  host?: string;
  queue?: string;
  category?: string;
  action: string;
  to?: string;
  delayMs?: number;
  reason: string;
}

export interface StoredTestCase {
  workflowId: string;
  seq: number;
  task: string;
  caseId: string;
  status: string;
  message?: string;
  durationMs: number;
  host?: string;
  quarantined: boolean;
  runs?: { status: string; host?: string }[];
  endedAt: number;
}

/** Everything stored about the tasks that ended in a window: what analytics reads. */
export interface StoredWindow {
  tasks: StoredTask[];
  attempts: StoredAttempt[];
  errorReports: StoredErrorReport[];
  recoveryActions: StoredRecoveryAction[];
  testCases: StoredTestCase[];
}

export interface ResultsStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, password hidden. */
  readonly location: string;
  /** Validates (zod) and writes one finished task; writing the same workflow id again replaces it. */
  writeTask(record: TaskRecordInput): Promise<void>;
  loadWindow(filter?: WindowFilter): Promise<StoredWindow>;
  schemaVersion(): Promise<number>;
  countTasks(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Refuse to create a SQLite file that does not exist (for readers such as `dtf report`). */
  mustExist?: boolean;
}

export class ResultsStoreMissingError extends Error {}

/** Opens (and migrates) the store at a DTF_RESULTS_DB-style URL; default: $DTF_RESULTS_DB, else sqlite:.dtf/results.db. */
export async function openResultsStore(url?: string, opts: OpenOptions = {}): Promise<ResultsStore> {
  const loc = resolveResultsDb(url);
  const db = loc.kind === 'sqlite' ? openSqlite(loc.path, opts) : await openPostgres(loc.url);
  try {
    await db.migrate();
  } catch (err) {
    await db.close();
    throw err;
  }
  return new SqlResultsStore(db, loc.kind, describeLocation(loc));
}

// ---------------------------------------------------------------------------------------------------------------
// A small async SQL surface both drivers implement. Queries use `?` placeholders; PostgreSQL's are numbered here.

type Param = string | number | null;
type Row = Record<string, unknown>;

interface Statement {
  sql: string;
  params: Param[];
}

interface Db {
  all(sql: string, params?: Param[]): Promise<Row[]>;
  /** The statements, in order, in one transaction (SQLite: synchronously, so nothing interleaves). */
  batch(statements: Statement[]): Promise<void>;
  /** Applies the migrations above the stored version, serialised with every other process doing the same. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';
const splitSql = (sql: string) => sql.split(/;\s*\n/).map((x) => x.trim()).filter(Boolean);

function openSqlite(file: string, opts: OpenOptions): Db {
  // Loaded here so that importing this module (types, resolveResultsDb) never loads the native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  if (file !== ':memory:') {
    if (opts.mustExist && !fs.existsSync(file)) throw new ResultsStoreMissingError(`no results store at ${file}`);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL'); // readers do not block the writer; several workers may share the file
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  const cache = new Map<string, BetterSqlite3.Statement>();
  const stmt = (sql: string) => cache.get(sql) ?? cache.set(sql, db.prepare(sql)).get(sql)!;
  // IMMEDIATE takes the write lock at the start: another process's writer waits (busy_timeout) instead of failing
  // halfway. Everything inside runs synchronously, so two writers on this connection never interleave.
  const write = db.transaction((statements: Statement[]) => {
    for (const x of statements) stmt(x.sql).run(...x.params);
  });
  return {
    all: async (sql, params = []) => stmt(sql).all(...params) as Row[],
    batch: async (statements) => {
      write.immediate(statements);
    },
    migrate: async () => {
      db.exec(MIGRATIONS_TABLE);
      db.transaction(() => {
        const current = Number((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0);
        for (const m of MIGRATIONS) {
          if (m.version <= current) continue;
          for (const x of splitSql(m.sql)) db.exec(x);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        }
      }).immediate();
    },
    close: async () => {
      db.close();
    },
  };
}

const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

async function openPostgres(url: string): Promise<Db> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as typeof import('pg');
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
    // BIGINT (epoch ms, counts) as numbers: every value dtf stores fits in 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  });
  pool.on('error', () => undefined); // an idle client's connection dropped: the next query reconnects
  const client = await pool.connect(); // fail now, with the driver's reason, when the server cannot be reached
  client.release();
  const inTransaction = async (fn: (c: PoolClient) => Promise<void>) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
  return {
    all: async (sql, params = []) => (await pool.query(numbered(sql), params)).rows as Row[],
    batch: (statements) =>
      inTransaction(async (c) => {
        for (const x of statements) await c.query(numbered(x.sql), x.params);
      }),
    migrate: async () => {
      await pool.query(MIGRATIONS_TABLE).catch(async (err: { code?: string }) => {
        if (err.code !== '23505') throw err; // two processes creating it at once: the other one won
      });
      await inTransaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(727100)'); // dtf results migrations, one process at a time
        const current = Number((await c.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
        for (const m of MIGRATIONS) {
          if (m.version <= current) continue;
          for (const x of splitSql(m.sql)) await c.query(x);
          await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        }
      });
    },
    close: () => pool.end(),
  };
}

// ---------------------------------------------------------------------------------------------------------------

const TASK_COLS = [
  'workflow_id', 'run_id', 'task', 'batch_id', 'status', 'hw_class', 'queue', 'host', 'labels', 'category', 'reason', 'exit_code',
  'started_at', 'ended_at', 'duration_ms', 'attempt_count', 'dead_lettered', 'tests_total', 'tests_passed', 'tests_failed',
  'tests_errored', 'tests_skipped', 'tests_flaky', 'tests_quarantined', 'tests_cases_omitted', 'tests_slowest', 'recorded_at',
];
const ATTEMPT_COLS = ['workflow_id', 'n', 'placement', 'attempt_in_placement', 'host', 'gpu_model', 'queue', 'outcome', 'category', 'kind', 'rule', 'max_attempts_in_place', 'exit_code', 'duration_ms', 'started_at'];
const ERROR_COLS = ['workflow_id', 'attempt_n', 'category', 'kind', 'rule', 'host', 'gpu_model', 'message', 'overheating', 'memory_pressure', 'throttling', 'hardware_warnings', 'at'];
const RECOVERY_COLS = ['workflow_id', 'seq', 'at', 'placement', 'attempt', 'host', 'queue', 'category', 'action', 'to_target', 'delay_ms', 'reason'];
const CASE_COLS = ['workflow_id', 'seq', 'task', 'case_id', 'status', 'message', 'duration_ms', 'host', 'quarantined', 'runs', 'ended_at'];
const CHILD_TABLES = ['task_labels', 'attempts', 'error_reports', 'recovery_actions', 'test_cases'];
/** Rows per multi-row INSERT (stays under SQLite's and PostgreSQL's parameter limits). */
const INSERT_CHUNK = 200;

const ms = (iso: string | undefined): number | null => (iso ? Date.parse(iso) : null);
const opt = <T>(v: T | undefined | null): T | null => (v === undefined ? null : v);
const bool = (b: boolean | undefined) => (b ? 1 : 0);

function insertStatements(table: string, cols: string[], rows: Param[][]): Statement[] {
  const out: Statement[] = [];
  const one = `(${cols.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    out.push({ sql: `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => one).join(', ')}`, params: chunk.flat() });
  }
  return out;
}

class SqlResultsStore implements ResultsStore {
  constructor(
    private readonly db: Db,
    readonly kind: 'sqlite' | 'postgres',
    readonly location: string,
  ) {}

  async writeTask(input: TaskRecordInput): Promise<void> {
    const r = TaskRecord.parse(input);
    const endedAt = Date.parse(r.endedAt);
    const t = r.tests;
    const taskRow: Param[] = [
      r.workflowId, opt(r.runId), r.task, opt(r.batchId), r.status, r.hwClass, opt(r.queue), opt(r.host), JSON.stringify(r.labels),
      opt(r.category), opt(r.reason), opt(r.exitCode), Date.parse(r.startedAt), endedAt, r.durationMs, r.attempts.length, bool(r.deadLettered),
      t ? t.total : null, t ? t.passed : null, t ? t.failed : null, t ? t.errored : null, t ? t.skipped : null, t ? t.flaky : null,
      t ? t.quarantined : null, t ? t.casesOmitted : null, t ? JSON.stringify(t.slowest) : null, Date.now(),
    ];
    const attempts: Param[][] = r.attempts.map((a) => [
      r.workflowId, a.n, opt(a.placement), opt(a.attemptInPlacement), opt(a.host), opt(a.gpuModel), opt(a.queue), a.outcome, opt(a.category),
      opt(a.kind), opt(a.rule), opt(a.maxAttemptsInPlace), opt(a.exitCode), opt(a.durationMs), ms(a.startedAt),
    ]);
    const errors: Param[][] = r.attempts
      .filter((a) => a.category && a.outcome !== 'passed')
      .map((a) => [
        r.workflowId, a.n, a.category!, opt(a.kind), opt(a.rule), opt(a.host), opt(a.gpuModel), opt(a.message),
        bool(a.hardwareStatus?.overheating), bool(a.hardwareStatus?.memoryPressure), bool(a.hardwareStatus?.throttling),
        JSON.stringify(a.hardwareStatus?.warnings ?? []), ms(a.startedAt) ?? endedAt,
      ]);
    const recovery: Param[][] = r.recoveryActions.map((e, i) => [
      r.workflowId, i + 1, Date.parse(e.at), e.placement, opt(e.attempt), opt(e.host), opt(e.queue), opt(e.category), e.action, opt(e.to), opt(e.delayMs), e.reason,
    ]);
    const cases: Param[][] = (t?.cases ?? []).map((c, i) => [
      r.workflowId, i + 1, r.task, c.id, c.status, opt(c.message), c.durationMs, opt(c.host), bool(c.quarantined), c.runs ? JSON.stringify(c.runs) : null, endedAt,
    ]);
    const labels: Param[][] = Object.entries(r.labels).map(([k, v]) => [r.workflowId, k, v]);
    await this.db.batch([
      ...CHILD_TABLES.map((table) => ({ sql: `DELETE FROM ${table} WHERE workflow_id = ?`, params: [r.workflowId] })),
      { sql: 'DELETE FROM tasks WHERE workflow_id = ?', params: [r.workflowId] },
      ...insertStatements('tasks', TASK_COLS, [taskRow]),
      ...insertStatements('task_labels', ['workflow_id', 'key', 'value'], labels),
      ...insertStatements('attempts', ATTEMPT_COLS, attempts),
      ...insertStatements('error_reports', ERROR_COLS, errors),
      ...insertStatements('recovery_actions', RECOVERY_COLS, recovery),
      ...insertStatements('test_cases', CASE_COLS, cases),
    ]);
  }

  async loadWindow(filter: WindowFilter = {}): Promise<StoredWindow> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.sinceMs !== undefined) {
      where.push('ended_at >= ?');
      params.push(filter.sinceMs);
    }
    if (filter.untilMs !== undefined) {
      where.push('ended_at < ?');
      params.push(filter.untilMs);
    }
    if (filter.batchId !== undefined) {
      where.push('batch_id = ?');
      params.push(filter.batchId);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const inWindow = `workflow_id IN (SELECT workflow_id FROM tasks ${cond})`;
    const sub = where.length ? `WHERE ${inWindow}` : '';
    const [tasks, attempts, errors, recovery, cases] = await Promise.all([
      this.db.all(`SELECT * FROM tasks ${cond} ORDER BY ended_at, workflow_id`, params),
      this.db.all(`SELECT * FROM attempts ${sub} ORDER BY workflow_id, n`, where.length ? params : []),
      this.db.all(`SELECT * FROM error_reports ${sub} ORDER BY at, workflow_id, attempt_n`, where.length ? params : []),
      this.db.all(`SELECT * FROM recovery_actions ${sub} ORDER BY workflow_id, seq`, where.length ? params : []),
      this.db.all(`SELECT * FROM test_cases ${sub} ORDER BY ended_at, workflow_id, seq`, where.length ? params : []),
    ]);
    return {
      tasks: tasks.map(taskFromRow),
      attempts: attempts.map((a) =>
        clean<StoredAttempt>({
          workflowId: s(a.workflow_id)!, n: num(a.n)!, placement: num(a.placement), attemptInPlacement: num(a.attempt_in_placement), host: s(a.host),
          gpuModel: s(a.gpu_model), queue: s(a.queue), outcome: s(a.outcome)!, category: s(a.category), kind: s(a.kind), rule: s(a.rule),
          maxAttemptsInPlace: num(a.max_attempts_in_place), exitCode: num(a.exit_code), durationMs: num(a.duration_ms), startedAt: num(a.started_at),
        }),
      ),
      errorReports: errors.map((e) =>
        clean<StoredErrorReport>({
          workflowId: s(e.workflow_id)!, attemptN: num(e.attempt_n)!, category: s(e.category)!, kind: s(e.kind), rule: s(e.rule), host: s(e.host),
          gpuModel: s(e.gpu_model), message: s(e.message), overheating: num(e.overheating) === 1, memoryPressure: num(e.memory_pressure) === 1,
          throttling: num(e.throttling) === 1, hardwareWarnings: json(e.hardware_warnings, []), at: num(e.at)!,
        }),
      ),
      recoveryActions: recovery.map((x) =>
        clean<StoredRecoveryAction>({
          workflowId: s(x.workflow_id)!, seq: num(x.seq)!, at: num(x.at)!, placement: num(x.placement)!, attempt: num(x.attempt), host: s(x.host),
          queue: s(x.queue), category: s(x.category), action: s(x.action)!, to: s(x.to_target), delayMs: num(x.delay_ms), reason: s(x.reason) ?? '',
        }),
      ),
      testCases: cases.map((c) =>
        clean<StoredTestCase>({
          workflowId: s(c.workflow_id)!, seq: num(c.seq)!, task: s(c.task)!, caseId: s(c.case_id)!, status: s(c.status)!, message: s(c.message),
          durationMs: num(c.duration_ms) ?? 0, host: s(c.host), quarantined: num(c.quarantined) === 1, runs: c.runs ? json(c.runs, undefined) : undefined, endedAt: num(c.ended_at)!,
        }),
      ),
    };
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.db.all('SELECT MAX(version) AS v FROM schema_migrations');
    return Number(rows[0]?.v ?? 0);
  }

  async countTasks(): Promise<number> {
    const rows = await this.db.all('SELECT COUNT(*) AS n FROM tasks');
    return Number(rows[0]?.n ?? 0);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export { LATEST_SCHEMA_VERSION };

function taskFromRow(t: Row): StoredTask {
  const total = num(t.tests_total);
  return clean<StoredTask>({
    workflowId: s(t.workflow_id)!, runId: s(t.run_id), task: s(t.task)!, batchId: s(t.batch_id), status: s(t.status)!, hwClass: s(t.hw_class)!,
    queue: s(t.queue), host: s(t.host), labels: json(t.labels, {}), category: s(t.category), reason: s(t.reason), exitCode: num(t.exit_code),
    startedAt: num(t.started_at)!, endedAt: num(t.ended_at)!, durationMs: num(t.duration_ms) ?? 0, attemptCount: num(t.attempt_count) ?? 0,
    deadLettered: num(t.dead_lettered) === 1,
    tests:
      total === undefined
        ? undefined
        : {
            total, passed: num(t.tests_passed) ?? 0, failed: num(t.tests_failed) ?? 0, errored: num(t.tests_errored) ?? 0, skipped: num(t.tests_skipped) ?? 0,
            flaky: num(t.tests_flaky) ?? 0, quarantined: num(t.tests_quarantined) ?? 0, casesOmitted: num(t.tests_cases_omitted) ?? 0, slowest: json(t.tests_slowest, []),
          },
  });
}

function s(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}
function num(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}
function json<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}
function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
