import { defaultPayloadConverter, Payload } from '@temporalio/common';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AesGcmCodec, CodecKeyError, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/codec/aes-gcm-codec';
import { explainCodecError } from '../../src/codec/data-converter';
import { CodecKeys, KeyFileError, addKeyToFile, createKeyFile, loadKeyFile, newKey, newKeyId, parseKeyFile, setCurrentKey } from '../../src/codec/key-file';

const text = (bytes?: Uint8Array | null) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const keysOf = (current: string, ids: string[]): CodecKeys => ({
  file: '/test/keys.json',
  currentId: current,
  keys: new Map(ids.map((id) => [id, Buffer.from(newKeyFor(id), 'base64')])),
});
const fixedKeys = new Map<string, string>();
const newKeyFor = (id: string) => {
  if (!fixedKeys.has(id)) fixedKeys.set(id, newKey());
  return fixedKeys.get(id)!;
};
const payloadOf = (value: unknown) => defaultPayloadConverter.toPayload(value) as Payload;

describe('AesGcmCodec', () => {
  const secret = { command: ['sh', '-c', 'echo hunter2-secret'], env: { TOKEN: 'tok-123' } };

  it('encrypts the whole payload, metadata included, and names the key in clear', async () => {
    const codec = new AesGcmCodec(keysOf('2026-12', ['2026-12']));
    const [encoded] = await codec.encode([payloadOf(secret)]);
    expect(text(encoded.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded.metadata![KEY_ID_METADATA])).toBe('2026-12');
    expect(Buffer.from(encoded.data!).includes('hunter2-secret')).toBe(false);
    expect(Buffer.from(encoded.data!).includes('json/plain')).toBe(false);
    const [decoded] = await codec.decode([encoded]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(secret);
  });

  it('uses a fresh IV for every payload: the same value encrypts differently each time', async () => {
    const codec = new AesGcmCodec(keysOf('k1', ['k1']));
    const [a, b] = await codec.encode([payloadOf('same'), payloadOf('same')]);
    expect(Buffer.from(a.data!).subarray(0, 12).equals(Buffer.from(b.data!).subarray(0, 12))).toBe(false);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('decodes by key id: a payload written under the old key still reads after the current key changes', async () => {
    const before = new AesGcmCodec(keysOf('2026-11', ['2026-11']));
    const [old] = await before.encode([payloadOf('written in November')]);
    const after = new AesGcmCodec(keysOf('2026-12', ['2026-11', '2026-12']));
    const [fresh] = await after.encode([payloadOf('written in December')]);
    expect(text(fresh.metadata![KEY_ID_METADATA])).toBe('2026-12');
    const decoded = await after.decode([old, fresh]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written in November', 'written in December']);
  });

  it('names the key id it lacks, instead of returning garbage', async () => {
    const [old] = await new AesGcmCodec(keysOf('2026-11', ['2026-11'])).encode([payloadOf('x')]);
    const rotatedOut = new AesGcmCodec(keysOf('2026-12', ['2026-12']));
    await expect(rotatedOut.decode([old])).rejects.toThrow(CodecKeyError);
    await expect(rotatedOut.decode([old])).rejects.toThrow(/key id "2026-11", which the key file \/test\/keys.json does not hold \(it holds 2026-12\)/);
  });

  it('refuses a payload that was altered, or relabelled to another key', async () => {
    const keys = keysOf('a', ['a', 'b']);
    const codec = new AesGcmCodec(keys);
    const [encoded] = await codec.encode([payloadOf('value')]);
    const flipped = Buffer.from(encoded.data!);
    flipped[20] ^= 1;
    await expect(codec.decode([{ ...encoded, data: flipped }])).rejects.toThrow(/does not authenticate/);
    // Same bytes under key b's id (and key b's bytes swapped to a's): the key id is authenticated too.
    const relabelled = { ...encoded, metadata: { ...encoded.metadata, [KEY_ID_METADATA]: Buffer.from('b') } };
    const sameKeyOtherId = new AesGcmCodec({ ...keys, keys: new Map([['b', keys.keys.get('a')!]]) });
    await expect(sameKeyOtherId.decode([relabelled])).rejects.toThrow(/does not authenticate/);
    await expect(codec.decode([{ ...encoded, data: Buffer.from(encoded.data!).subarray(0, 10) }])).rejects.toThrow(/truncated/);
  });

  it('passes payloads that are not encrypted through, so histories from before the codec still read', async () => {
    const codec = new AesGcmCodec(keysOf('k', ['k']));
    const plain = payloadOf({ written: 'before encryption' });
    const [decoded] = await codec.decode([plain]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ written: 'before encryption' });
  });
});

describe('explainCodecError', () => {
  it('turns the default converter\'s "Unknown encoding" into what to do, wherever it is in the cause chain', () => {
    const inner = new Error('Unknown encoding: binary/encrypted');
    const outer = new Error('failed to decode result', { cause: inner });
    expect(explainCodecError(outer)).toMatch(/encrypted .* no key: pass --codec-key-file FILE or set DTF_CODEC_KEY_FILE/);
    expect(explainCodecError(new Error('Unknown encoding: json/protobuf'))).toBeUndefined();
    expect(explainCodecError(new Error('connection refused'))).toBeUndefined();
  });
});

describe('key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-keyfile-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: unknown, mode = 0o600) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content), { mode });
    fs.chmodSync(file, mode);
    return file;
  };
  const problems = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(KeyFileError);
      return (err as Error).message;
    }
    throw new Error('expected a KeyFileError');
  };

  it('loads several keys and the current one', () => {
    const a = newKey();
    const b = newKey();
    const keys = loadKeyFile(write('k.json', { current: '2026-12', keys: { '2026-11': a, '2026-12': b } }));
    expect(keys.currentId).toBe('2026-12');
    expect([...keys.keys.keys()]).toEqual(['2026-11', '2026-12']);
    expect(keys.keys.get('2026-11')!.equals(Buffer.from(a, 'base64'))).toBe(true);
  });

  it('names each bad field: a key that is not 32 bytes, not base64, a current that is not a key, an unknown field', () => {
    const short = Buffer.alloc(31).toString('base64');
    const msg = problems(() => parseKeyFile(JSON.stringify({ current: 'c', keys: { a: short, b: 'not base64!' }, extra: 1 }), 'k.json'));
    expect(msg).toMatch(/keys\.a: expected an AES-256 key of 32 bytes, got 31 bytes/);
    expect(msg).toMatch(/keys\.b: expected standard base64/);
    expect(msg).toMatch(/current: "c" is not one of keys \(a, b\)/);
    expect(msg).toMatch(/Unrecognized key\(s\) in object: 'extra'/);
    expect(problems(() => parseKeyFile('{"current": ', 'k.json'))).toMatch(/not valid JSON/);
    expect(problems(() => parseKeyFile(JSON.stringify({ current: 'a', keys: {} }), 'k.json'))).toMatch(/keys: expected at least one key/);
    expect(problems(() => parseKeyFile(JSON.stringify({ current: 'a b', keys: { 'a b': newKey() } }), 'k.json'))).toMatch(/keys\.a b: expected a key id/);
  });

  it('refuses a file its group or others can read', () => {
    if (process.platform === 'win32') return;
    const file = write('k.json', { current: 'a', keys: { a: newKey() } }, 0o644);
    expect(problems(() => loadKeyFile(file))).toMatch(/refused: its mode is 0644: its group and others can reach it; make it private with: chmod 600/);
    fs.chmodSync(file, 0o640);
    expect(problems(() => loadKeyFile(file))).toMatch(/its group can reach it/);
    fs.chmodSync(file, 0o400);
    expect(loadKeyFile(file).currentId).toBe('a');
  });

  it('says which file is missing', () => {
    expect(problems(() => loadKeyFile(path.join(dir, 'nope.json')))).toMatch(/nope\.json:\n  - cannot read \(ENOENT\)/);
  });

  it('makes a private file, never overwrites one, and rotates by adding a key that becomes current', () => {
    const file = path.join(dir, 'keys.json');
    expect(createKeyFile(file, 'first')).toBe('first');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(problems(() => createKeyFile(file))).toMatch(/already exists/);
    const second = addKeyToFile(file, { id: 'second' });
    expect(second).toBe('second');
    let keys = loadKeyFile(file);
    expect(keys.currentId).toBe('second');
    expect([...keys.keys.keys()]).toEqual(['first', 'second']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    addKeyToFile(file, { id: 'staged', makeCurrent: false });
    expect(loadKeyFile(file).currentId).toBe('second');
    setCurrentKey(file, 'staged');
    keys = loadKeyFile(file);
    expect(keys.currentId).toBe('staged');
    expect(problems(() => addKeyToFile(file, { id: 'first' }))).toMatch(/keys\.first: already exists; keys are never replaced/);
    expect(problems(() => setCurrentKey(file, 'nope'))).toMatch(/current: "nope" is not one of keys \(first, second, staged\)/);
  });

  it('names new keys by month, with a suffix when the month is taken', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    expect(newKeyId([], now)).toBe('2026-12');
    expect(newKeyId(['2026-12'], now)).toBe('2026-12.2');
    expect(newKeyId(['2026-12', '2026-12.2'], now)).toBe('2026-12.3');
  });
});
