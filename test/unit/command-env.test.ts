/** What of the worker's environment a test command gets, and how secrets by reference are redacted. */
import { commandEnvironment, redactSecretValues } from '../../src/domain/command-env';

const worker = { PATH: '/usr/bin', HOME: '/home/w', LANG: 'C.UTF-8', TMPDIR: '/tmp', TEMPORAL_API_KEY: 'tk-123456', AWS_SECRET_ACCESS_KEY: 'aws-abcdef', CUDA_HOME: '/cuda', CUDA_VERSION: '12.4', HF_TOKEN_STORE: 'hf_abcdefgh' };

describe('commandEnvironment', () => {
  it('passes the base only: none of the worker\'s credentials', () => {
    const { env } = commandEnvironment({ worker, pass: [], task: {}, secretEnv: {}, dtf: { DTF_TASK: 't' } });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/w', LANG: 'C.UTF-8', TMPDIR: '/tmp', DTF_TASK: 't' });
  });
  it('passes what the deployment allows, by name or prefix', () => {
    const { env } = commandEnvironment({ worker, pass: ['CUDA_*', 'NOT_SET'], task: {}, secretEnv: {}, dtf: {} });
    expect(env).toMatchObject({ CUDA_HOME: '/cuda', CUDA_VERSION: '12.4' });
    expect(env).not.toHaveProperty('TEMPORAL_API_KEY');
    expect(env).not.toHaveProperty('NOT_SET');
  });
  it('gives the task its env, its secrets by reference, and dtf\'s own variables last', () => {
    const r = commandEnvironment({ worker, pass: [], task: { MODE: 'fast', DTF_TASK: 'spoofed' }, secretEnv: { HF_TOKEN: 'HF_TOKEN_STORE' }, dtf: { DTF_TASK: 't' } });
    expect(r.env).toMatchObject({ MODE: 'fast', HF_TOKEN: 'hf_abcdefgh', DTF_TASK: 't' });
    expect(r.secrets).toEqual([{ name: 'HF_TOKEN', value: 'hf_abcdefgh' }]);
    expect(r.missing).toEqual([]);
  });
  it('names a secretEnv the worker lacks, never a value', () => {
    const r = commandEnvironment({ worker, pass: [], task: {}, secretEnv: { DB_PASSWORD: 'PG_PASSWORD' }, dtf: {} });
    expect(r.missing).toEqual([{ name: 'DB_PASSWORD', from: 'PG_PASSWORD' }]);
    expect(r.env).not.toHaveProperty('DB_PASSWORD');
  });
});

describe('redactSecretValues', () => {
  it('replaces each value with its name, longest first', () => {
    const secrets = [{ name: 'A', value: 'abc' }, { name: 'AB', value: 'abcdef' }];
    expect(redactSecretValues('token=abcdef and abc', secrets)).toBe('token=[redacted:AB] and [redacted:A]');
  });
});
