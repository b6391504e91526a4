/**
 * Version 1 of the results schema. One SQL text serves SQLite and PostgreSQL: times are epoch milliseconds (UTC) in
 * BIGINT, booleans INTEGER 0/1, JSON in TEXT. A task's rows are replaced as a whole when it is written again.
 */
export const migration001 = {
  version: 1,
  name: 'initial: tasks, task_labels, attempts, error_reports, recovery_actions, test_cases',
  sql: `
CREATE TABLE tasks (
  workflow_id        TEXT PRIMARY KEY,
  run_id             TEXT,
  task               TEXT NOT NULL,
  batch_id           TEXT,
  status             TEXT NOT NULL,
  hw_class           TEXT NOT NULL,
  queue              TEXT,
  host               TEXT,
  labels             TEXT NOT NULL DEFAULT '{}',
  category           TEXT,
  reason             TEXT,
  exit_code          INTEGER,
  started_at         BIGINT NOT NULL,
  ended_at           BIGINT NOT NULL,
  duration_ms        DOUBLE PRECISION NOT NULL,
  attempt_count      INTEGER NOT NULL,
  dead_lettered      INTEGER NOT NULL DEFAULT 0,
  tests_total        INTEGER,
  tests_passed       INTEGER,
  tests_failed       INTEGER,
  tests_errored      INTEGER,
  tests_skipped      INTEGER,
  tests_flaky        INTEGER,
  tests_quarantined  INTEGER,
  tests_cases_omitted INTEGER,
  tests_slowest      TEXT,
  recorded_at        BIGINT NOT NULL
);
CREATE INDEX tasks_ended_at ON tasks (ended_at);
CREATE INDEX tasks_batch ON tasks (batch_id, ended_at);
CREATE INDEX tasks_task ON tasks (task, ended_at);

CREATE TABLE task_labels (
  workflow_id TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (workflow_id, key)
);
CREATE INDEX task_labels_kv ON task_labels (key, value);

CREATE TABLE attempts (
  workflow_id            TEXT NOT NULL,
  n                      INTEGER NOT NULL,
  placement              INTEGER,
  attempt_in_placement   INTEGER,
  host                   TEXT,
  gpu_model              TEXT,
  queue                  TEXT,
  outcome                TEXT NOT NULL,
  category               TEXT,
  kind                   TEXT,
  rule                   TEXT,
  max_attempts_in_place  INTEGER,
  exit_code              INTEGER,
  duration_ms            DOUBLE PRECISION,
  started_at             BIGINT,
  PRIMARY KEY (workflow_id, n)
);
CREATE INDEX attempts_host ON attempts (host);

CREATE TABLE error_reports (
  workflow_id        TEXT NOT NULL,
  attempt_n          INTEGER NOT NULL,
  category           TEXT NOT NULL,
  kind               TEXT,
  rule               TEXT,
  host               TEXT,
  gpu_model          TEXT,
  message            TEXT,
  overheating        INTEGER NOT NULL DEFAULT 0,
  memory_pressure    INTEGER NOT NULL DEFAULT 0,
  throttling         INTEGER NOT NULL DEFAULT 0,
  hardware_warnings  TEXT NOT NULL DEFAULT '[]',
  at                 BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, attempt_n)
);
CREATE INDEX error_reports_at ON error_reports (at);
CREATE INDEX error_reports_category ON error_reports (category, at);

CREATE TABLE recovery_actions (
  workflow_id TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  at          BIGINT NOT NULL,
  placement   INTEGER NOT NULL,
  attempt     INTEGER,
  host        TEXT,
  queue       TEXT,
  category    TEXT,
  action      TEXT NOT NULL,
  to_target   TEXT,
  delay_ms    BIGINT,
  reason      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (workflow_id, seq)
);

CREATE TABLE test_cases (
  workflow_id  TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  task         TEXT NOT NULL,
  case_id      TEXT NOT NULL,
  status       TEXT NOT NULL,
  message      TEXT,
  duration_ms  DOUBLE PRECISION NOT NULL,
  host         TEXT,
  quarantined  INTEGER NOT NULL DEFAULT 0,
  runs         TEXT,
  ended_at     BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, seq)
);
CREATE INDEX test_cases_case ON test_cases (task, case_id, ended_at);
`,
};
