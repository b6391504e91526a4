import { lineRedactor, redactOutput } from '../../src/domain/output-redaction';

const redaction = { secrets: [{ name: 'HF_TOKEN', value: 'plainvalue-no-shape-42' }], knownSecrets: ['worker-api-key-value'] };

describe('output redaction', () => {
  it('names secretEnv values, removes known values and the shapes error reports know', () => {
    const text = 'token plainvalue-no-shape-42; key worker-api-key-value; password=hunter2hunter2; ghp_' + 'a'.repeat(36);
    expect(redactOutput(text, redaction)).toBe('token [redacted:HF_TOKEN]; key [REDACTED]; password=[REDACTED]; [REDACTED]');
  });

  it('leaves ordinary output as it was', () => {
    const line = 'Epoch 3/10 - loss: 0.2345 - eos_token: </s> - tests/test_model.py::test_forward PASSED [ 42%]';
    expect(lineRedactor(redaction)(line)).toBe(line);
  });

  it('line by line, redacts every line of a private key block, and only those', () => {
    const redact = lineRedactor(redaction);
    const lines = ['before', '-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA1a2b3c4d5e6f', 'Zm9vYmFyYmF6cXV4', '-----END RSA PRIVATE KEY-----', 'after'];
    const out = lines.map(redact);
    expect(out).toEqual(['before', '[REDACTED]', '[REDACTED]', '[REDACTED]', '[REDACTED]', 'after']);
    // A one-line block closes itself: the next line is not swallowed.
    expect([redact('k=-----BEGIN PRIVATE KEY-----abc-----END PRIVATE KEY-----'), redact('next')]).toEqual(['k=[REDACTED]', 'next']);
  });

  it('a secret value that contains another goes whole, by the longer one\'s name', () => {
    const r = { secrets: [{ name: 'SHORT', value: 'abcdef' }, { name: 'LONG', value: 'abcdef-ghijkl' }], knownSecrets: [] };
    expect(redactOutput('x abcdef-ghijkl y abcdef', r)).toBe('x [redacted:LONG] y [redacted:SHORT]');
  });
});
