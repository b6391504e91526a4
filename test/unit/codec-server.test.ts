import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec } from '../../src/codec/aes-gcm-codec';
import { RunningCodecServer, payloadFromJson, payloadToJson, startCodecServer } from '../../src/codec/codec-server';
import { newKey } from '../../src/codec/key-file';
import { devServerArgs } from '../../src/server/dev-server';

const UI = 'http://localhost:8233';
const keyA = Buffer.from(newKey(), 'base64');
const keyB = Buffer.from(newKey(), 'base64');

describe('dtf codec-server (Temporal codec-server protocol)', () => {
  let server: RunningCodecServer;
  const logged: string[] = [];
  beforeAll(async () => {
    server = await startCodecServer({
      codec: new AesGcmCodec({ file: '/keys.json', currentId: 'b', keys: new Map([['a', keyA], ['b', keyB]]) }),
      port: 0,
      corsOrigins: [UI],
      authToken: 'tok-1',
      log: (l) => logged.push(l),
    });
  });
  afterAll(() => server.close());

  const post = (endpoint: string, body: unknown, headers: Record<string, string> = { Authorization: 'Bearer tok-1' }) =>
    fetch(`${server.url}${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('encodes and decodes {payloads} as proto JSON, at any path depth, naming the key id it used', async () => {
    const plain = payloadToJson(defaultPayloadConverter.toPayload({ command: 'echo secret-value' })!);
    const enc = await post('/encode', { payloads: [plain] });
    expect(enc.status).toBe(200);
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(encoded.payloads[0].metadata['encryption-key-id'], 'base64').toString()).toBe('b');
    expect(Buffer.from(encoded.payloads[0].data, 'base64').includes('secret-value')).toBe(false);
    const dec = await post('/api/default/decode', encoded);
    expect(dec.status).toBe(200);
    const decoded = (await dec.json()) as { payloads: never[] };
    expect(defaultPayloadConverter.fromPayload(payloadFromJson(decoded.payloads[0]))).toEqual({ command: 'echo secret-value' });
    expect(logged.some((l) => l.includes('/api/default/decode namespace=default'))).toBe(true);
    expect(logged.join('\n')).not.toContain('secret-value');
  });

  it('answers the Web UI\'s CORS preflight for an allowed origin only', async () => {
    const ok = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: UI, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const evil = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('requires the bearer token', async () => {
    const body = { payloads: [] };
    expect((await post('/decode', body, {})).status).toBe(401);
    expect((await post('/decode', body, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post('/decode', body)).status).toBe(200);
  });

  it('names what is wrong with a bad request, and the key id it lacks', async () => {
    const notJson = await post('/decode', '{');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not JSON/);
    const badField = await post('/decode', { payloads: [{ data: '%%%' }] });
    expect(badField.status).toBe(400);
    expect(((await badField.json()) as { error: string }).error).toMatch(/payloads\.0\.data: expected base64/);
    const foreign = await new AesGcmCodec({ file: '/other.json', currentId: 'z', keys: new Map([['z', Buffer.from(newKey(), 'base64')]]) }).encode([defaultPayloadConverter.toPayload('x')!]);
    const unknownKey = await post('/decode', { payloads: foreign.map(payloadToJson) });
    expect(unknownKey.status).toBe(422);
    expect(((await unknownKey.json()) as { error: string }).error).toMatch(/key id "z"/);
    expect((await fetch(`${server.url}/decode`, { headers: { Authorization: 'Bearer tok-1' } })).status).toBe(405);
    expect((await post('/other', { payloads: [] })).status).toBe(404);
  });
});

describe('dtf server --ui-codec-endpoint', () => {
  it('points the dev server\'s Web UI at the codec server, and only when there is a UI', () => {
    const args = devServerArgs({ port: 7233, uiCodecEndpoint: 'http://127.0.0.1:8888' });
    expect(args[args.indexOf('--ui-codec-endpoint') + 1]).toBe('http://127.0.0.1:8888');
    expect(devServerArgs({ port: 7233, headless: true, uiCodecEndpoint: 'http://127.0.0.1:8888' })).not.toContain('--ui-codec-endpoint');
  });
});
