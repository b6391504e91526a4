/**
 * A test command's environment on a real worker: the worker's own secrets stay out of it, secrets by reference reach
 * it and are redacted from the result, the history and the worker's log, and a missing one fails by name.
 */
import fs from 'node:fs';
import { LocalFleet } from '../../src/server/local-fleet';
import { runTask, startTestFleet } from '../helpers';

const WORKER_SECRET = 'wk-9f8e7d6c5b4a-do-not-leak';
const TASK_SECRET = 'hf_tokenvalue_123456789';
let fleet: LocalFleet;

beforeAll(async () => {
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
  expect(history).not.toContain(WORKER_SECRET);
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
  const log = fs.readFileSync(fleet.workers[0].logFile, 'utf8');
  expect(log).toContain('token is [redacted:HF_TOKEN]');
  expect(log).not.toContain(TASK_SECRET);
});

test('a secretEnv the worker lacks fails the attempt as a configuration error naming the variable', async () => {
  const r = await runTask(fleet.client, { name: 'missing-secret', command: ['true'], secretEnv: { DB_PASSWORD: 'PG_PASSWORD_NOT_ON_HOST' }, deadLetterRetentionSeconds: 0 });
  expect(r.status).toBe('error');
  expect(r.category).toBe('TEST_CONFIGURATION_ERROR');
  expect(r.reason ?? (r.report as { message?: string })?.message).toBeDefined();
  expect(JSON.stringify(r.report)).toContain('PG_PASSWORD_NOT_ON_HOST');
});
