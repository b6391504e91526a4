/**
 * A test command's environment on a real worker: the worker's own secrets stay out of it, secrets by reference reach
 * it and are redacted from the result, the history and the worker's log, and a missing one fails by name.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DTF_BIN, LocalFleet } from '../../src/server/local-fleet';
import { runTask, startTestFleet, testAddress } from '../helpers';

const WORKER_SECRET = 'wk-9f8e7d6c5b4a-do-not-leak';
const TASK_SECRET = 'hf_tokenvalue_123456789';
const GITHUB_TOKEN = `ghp_${'Z9y8X7w6V5u4'.repeat(3)}`;
let fleet: LocalFleet;
/** The worker's log as this run wrote it (the file is appended to across runs). */
let logStart = 0;
const workerLog = () => fs.readFileSync(fleet.workers[0].logFile).subarray(logStart).toString('utf8');

beforeAll(async () => {
  const logFile = path.join(process.env.DTF_TEST_LOG_DIR ?? '', 'worker-env-a.log');
  logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  fleet = await startTestFleet([{ hostId: 'env-a', env: { TEMPORAL_API_KEY_FOR_TEST: WORKER_SECRET, HF_TOKEN_ON_HOST: TASK_SECRET, CUDA_TEST_HOME: '/opt/cuda' }, extraArgs: ['--pass-env', 'CUDA_*'] }]);
});
afterAll(() => fleet?.stop());

/** The history as text a person could read: every payload decoded (they travel base64-encoded in the JSON). */
async function historyText(workflowId: string): Promise<string> {
  const json = JSON.stringify(await fleet.client.workflow.getHandle(workflowId).fetchHistory());
  const payloads = [...json.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8'));
  return `${json}\n${payloads.join('\n')}`;
}

const printEnv = [process.execPath, '-e', 'for (const [k, v] of Object.entries(process.env)) console.log(k + "=" + v)'];

test('the command gets the base, the allowlist and its own env; none of the worker\'s secrets reach it or the history', async () => {
  const r = await runTask(fleet.client, { name: 'print-env', command: printEnv, env: { MODE: 'ci' } });
  expect(r.status).toBe('passed');
  const names = r.outputTail.trim().split('\n').map((l: string) => l.split('=')[0]);
  expect(names).toEqual(expect.arrayContaining(['PATH', 'MODE', 'DTF_TASK', 'CUDA_TEST_HOME']));
  expect(names).not.toContain('TEMPORAL_API_KEY_FOR_TEST');
  expect(names).not.toContain('HF_TOKEN_ON_HOST');
  const history = await historyText(r.workflowId);
  expect(history).toContain('MODE'); // decoded: the check below can fail
  expect(JSON.stringify(r)).toContain('CUDA_TEST_HOME=/opt/cuda'); // the result holds the printed env
  const log = workerLog();
  expect(log).toContain('CUDA_TEST_HOME=/opt/cuda'); // the log holds the printed lines
  for (const where of [history, JSON.stringify(r), log]) {
    expect(where).not.toContain(WORKER_SECRET);
    expect(where).not.toContain(TASK_SECRET);
  }
});

test('output lines in the worker log, the result and the history are scrubbed like error reports', async () => {
  const pem = ['-----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'c2VjcmV0LWtleS1taWRkbGUtbGluZQ==', '-----END PRIVATE KEY-----'];
  const printed = ['db password=correct-horse-battery', `push with ${GITHUB_TOKEN}`, ...pem, `worker key ${WORKER_SECRET}`, 'done'];
  // Read from a file, as a test prints a config it loaded: the secrets are in no spec, only in the output.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-env-')), 'settings.txt');
  fs.writeFileSync(file, `${printed.join('\n')}\n`);
  const r = await runTask(fleet.client, { name: 'prints-secrets', command: ['cat', file] });
  expect(r.status).toBe('passed');
  expect(r.outputTail).toContain('db password=[REDACTED]');
  const log = workerLog();
  expect(log).toContain('db password=[REDACTED]');
  expect(log).toContain('"msg":"done"');
  const history = await historyText(r.workflowId);
  for (const where of [log, r.outputTail, history]) {
    for (const secret of ['correct-horse-battery', GITHUB_TOKEN, pem[1], pem[2], WORKER_SECRET]) expect(where).not.toContain(secret);
  }
});

test('secretEnv delivers the value by reference and redacts it everywhere output goes', async () => {
  const r = await runTask(fleet.client, {
    name: 'use-secret',
    command: [process.execPath, '-e', 'console.log("token is " + process.env.HF_TOKEN); process.exit(process.env.HF_TOKEN.length === 23 ? 0 : 1)'],
    secretEnv: { HF_TOKEN: 'HF_TOKEN_ON_HOST' },
  });
  expect(r.status).toBe('passed'); // the command saw the real value
  expect(r.outputTail).toContain('token is [redacted:HF_TOKEN]');
  const history = await historyText(r.workflowId);
  expect(history).toContain('[redacted:HF_TOKEN]');
  expect(history).not.toContain(TASK_SECRET);
  expect(history).toContain('HF_TOKEN_ON_HOST'); // the reference, not the value
  const log = workerLog();
  expect(log).toContain('token is [redacted:HF_TOKEN]');
  expect(log).not.toContain(TASK_SECRET);
  expect(JSON.stringify(r)).not.toContain(TASK_SECRET);
});

test('a secretEnv the worker lacks fails the attempt as a configuration error naming the variable', async () => {
  const r = await runTask(fleet.client, { name: 'missing-secret', command: ['true'], secretEnv: { DB_PASSWORD: 'PG_PASSWORD_NOT_ON_HOST' }, deadLetterRetentionSeconds: 0 });
  expect(r.status).toBe('error');
  expect(r.category).toBe('TEST_CONFIGURATION_ERROR');
  expect(r.recoveryLog.map((e) => e.rule)).toContain('secret-env-missing');
  const message = (r.report as { message?: string })?.message ?? '';
  expect(message).toContain('DB_PASSWORD names PG_PASSWORD_NOT_ON_HOST');
  // Named, never valued: none of the worker's secrets appear in the result, the history or the log.
  for (const where of [JSON.stringify(r), await historyText(r.workflowId), workerLog()]) {
    expect(where).not.toContain(WORKER_SECRET);
    expect(where).not.toContain(TASK_SECRET);
  }
});

test('dtf submit refuses env values that look like secrets (they would be in the history in clear) unless told to', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-env-')), 'suite.yaml');
  fs.writeFileSync(file, `tasks:\n  - name: env-token\n    command: ["true"]\n    env: {MODE: ci, HF_TOKEN: hf_inline_value, TOKENIZERS_PARALLELISM: "false"}\n`);
  const submit = (batch: string, ...flags: string[]) =>
    spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), 'submit', file, '--batch-id', batch, '--wait', ...flags], { encoding: 'utf8' });
  const refused = `refused-${Date.now()}`;
  const res = submit(refused);
  expect(res.status).toBe(2);
  expect(res.stderr).toContain('task "env-token": env.HF_TOKEN');
  expect(res.stderr).toContain('secretEnv: {HF_TOKEN: WORKER_VAR}');
  expect(res.stderr).not.toContain('TOKENIZERS_PARALLELISM');
  expect(res.stderr).not.toContain('hf_inline_value'); // the refusal names the key, not the value
  expect((await fleet.client.workflow.count(`DtfRunId = '${refused}'`)).count).toBe(0);
  const allowed = submit(`allowed-${Date.now()}`, '--allow-secret-env');
  expect(allowed.status).toBe(0);
  expect(allowed.stdout).toContain('env-token');
});
