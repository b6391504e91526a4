import { REDACTED, isSensitiveEnvName, redactEnv, redactSecrets, secretValuesOf } from '../../src/domain/redact';

// Assembled at run time so the source holds no string a secret scanner would flag.
const fake = (prefix: string, length: number, alphabet = 'aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xYz'): string =>
  prefix + Array.from({ length }, (_, i) => alphabet[(i * 7) % alphabet.length]).join('');

describe('redactSecrets: token formats', () => {
  const cases: Array<[string, string]> = [
    ['AWS access key id', fake('AKIA', 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')],
    ['GitHub classic token', fake('ghp_', 36)],
    ['GitHub fine-grained token', fake('github_pat_', 60)],
    ['Hugging Face token', fake('hf_', 34)],
    ['Slack token', fake('xoxb-', 40, '0123456789-abcdef')],
    ['OpenAI key', fake('sk-proj-', 40)],
    ['GitLab token', fake('glpat-', 20)],
    ['JWT', `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${fake('', 43)}`],
  ];
  it.each(cases)('%s', (_name, secret) => {
    const out = redactSecrets(`downloading with ${secret} now`);
    expect(out).toBe(`downloading with ${REDACTED} now`);
  });

  it('leaves look-alikes that are not tokens', () => {
    const text = 'hf_hub_download failed; task-scheduler ghp_short AKIA123 sk-1';
    expect(redactSecrets(text)).toBe(text);
  });
});

describe('redactSecrets: secrets by context', () => {
  it('Bearer tokens', () => {
    expect(redactSecrets('curl -H "Authorization: Bearer abc.DEF-123_xyz"')).toBe(`curl -H "Authorization: Bearer ${REDACTED}"`);
    expect(redactSecrets('sent bearer 0123456789abcdef')).toBe(`sent bearer ${REDACTED}`);
  });

  it('Basic auth headers', () => {
    expect(redactSecrets('authorization: Basic dXNlcjpwYXNz')).toBe(`authorization: Basic ${REDACTED}`);
  });

  it('password=..., token: ..., api_key in JSON and Python reprs', () => {
    expect(redactSecrets('login password=hunter22 user=bob')).toBe(`login password=${REDACTED} user=bob`);
    expect(redactSecrets('token: s3cr3t-value')).toBe(`token: ${REDACTED}`);
    expect(redactSecrets('{"api_key": "abc 123", "n": 1}')).toBe(`{"api_key": "${REDACTED}", "n": 1}`);
    expect(redactSecrets("{'aws_secret_access_key': 'wJalrXUtnFEMI/K7MDENG'}")).toBe(
      `{'aws_secret_access_key': '${REDACTED}'}`,
    );
    expect(redactSecrets('HF_TOKEN=whatever-shape DB_PASSWORD="p a s s"')).toBe(`HF_TOKEN=${REDACTED} DB_PASSWORD="${REDACTED}"`);
  });

  it('secret command-line flags', () => {
    expect(redactSecrets('run --password hunter22 --verbose')).toBe(`run --password ${REDACTED} --verbose`);
    expect(redactSecrets('run --hf-token=abcdef123')).toBe(`run --hf-token=${REDACTED}`);
  });

  it('spares tokenizer settings and token counts, which are not credentials', () => {
    const text = "eos_token: </s> pad_token='<pad>' max_new_tokens=512 tokenizer: gpt2 num_tokens: 7";
    expect(redactSecrets(text)).toBe(text);
  });

  it('URLs with user:pass@', () => {
    expect(redactSecrets('cloning https://alice:s3cret@github.com/org/repo.git')).toBe(
      `cloning https://${REDACTED}@github.com/org/repo.git`,
    );
    expect(redactSecrets('DATABASE_URL postgres://u:p%40ss@db:5432/x')).toBe(`DATABASE_URL postgres://${REDACTED}@db:5432/x`);
    expect(redactSecrets('see https://example.com/a@b')).toBe('see https://example.com/a@b');
  });

  it('private-key PEM blocks, whole or cut by the tail', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n';
    const block = `-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----`;
    expect(redactSecrets(`before\n${block}\nafter`)).toBe(`before\n${REDACTED}\nafter`);
    expect(redactSecrets(`x\n-----BEGIN OPENSSH PRIVATE KEY-----\n${body}`)).toBe(`x\n${REDACTED}`);
    expect(redactSecrets(`${body}-----END RSA PRIVATE KEY-----\nafter`)).toBe(`${REDACTED}\nafter`);
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(redactSecrets(cert)).toBe(cert);
  });

  it('known secret values, whatever their shape', () => {
    expect(redactSecrets('pw is Tr0ub4dor&3 ok', { knownSecrets: ['Tr0ub4dor&3', 'abc'] })).toBe(`pw is ${REDACTED} ok`);
  });

  it('is idempotent and leaves ordinary output alone', () => {
    const once = redactSecrets(`token: abc123456 password=${fake('', 12)} ${fake('ghp_', 36)}`);
    expect(redactSecrets(once)).toBe(once);
    const ordinary = 'FAILED tests/test_model.py::test_forward - AssertionError: 0.51 != 0.5 (tol 1e-3)';
    expect(redactSecrets(ordinary)).toBe(ordinary);
  });

  it('is fast on large and adversarial input', () => {
    const big = `${'INFO step 1234 loss=0.123 lr=3e-4 path=/data/shard-0001.bin\n'.repeat(4000)}token=${fake('', 20)}`;
    const adversarial = `${'a.'.repeat(50_000)}${'x'.repeat(50_000)}:// ${'password'.repeat(5_000)}`;
    const start = performance.now();
    const out = redactSecrets(big);
    redactSecrets(adversarial);
    expect(performance.now() - start).toBeLessThan(500);
    expect(out.endsWith(`token=${REDACTED}`)).toBe(true);
  });
});

describe('redactEnv', () => {
  it('redacts secret-named variables and scrubs the others as text', () => {
    const env = {
      HF_TOKEN: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_ACCESS_KEY_ID: 'z',
      GITHUB_TOKEN: 'a',
      DB_PASSWORD: 'b',
      OPENAI_API_KEY: 'c',
      SSH_PRIVATE_KEY: 'd',
      DATABASE_URL: 'postgres://u:pw@db/x',
      CUDA_VISIBLE_DEVICES: '0,1',
      TOKENIZERS_PARALLELISM: 'false',
      PWD: '/work',
      UNSET: undefined,
    };
    expect(redactEnv(env)).toEqual({
      HF_TOKEN: REDACTED,
      AWS_SECRET_ACCESS_KEY: REDACTED,
      AWS_ACCESS_KEY_ID: REDACTED,
      GITHUB_TOKEN: REDACTED,
      DB_PASSWORD: REDACTED,
      OPENAI_API_KEY: REDACTED,
      SSH_PRIVATE_KEY: REDACTED,
      DATABASE_URL: `postgres://${REDACTED}@db/x`,
      CUDA_VISIBLE_DEVICES: '0,1',
      TOKENIZERS_PARALLELISM: 'false',
      PWD: '/work',
    });
  });

  it('does not change its input', () => {
    const env = { HF_TOKEN: 'x' };
    redactEnv(env);
    expect(env.HF_TOKEN).toBe('x');
  });

  it.each(['SLACK_BOT_TOKEN', 'CLIENT_SECRET', 'MYSQL_PWD', 'NPM_AUTH', 'STRIPE_KEY', 'GPG_PASSPHRASE', 'GOOGLE_CREDENTIALS'])(
    '%s is sensitive',
    (name) => expect(isSensitiveEnvName(name)).toBe(true),
  );
  it.each(['PATH', 'HOME', 'PWD', 'OLDPWD', 'TOKENIZERS_PARALLELISM', 'KEYBOARD_LAYOUT', 'PASSTHROUGH'])('%s is not', (name) =>
    expect(isSensitiveEnvName(name)).toBe(false),
  );
});

describe('secretValuesOf', () => {
  it('lists the values of secret-named variables long enough to replace safely', () => {
    expect(secretValuesOf({ HF_TOKEN: 'abcdefgh', API_KEY: '1', HOME: '/root', X_TOKEN: 'abcdefgh' })).toEqual(['abcdefgh']);
  });
});
