/**
 * Encrypted payloads on a real server with a real worker process started with the key file: the raw history holds
 * no plain payload, the Temporal CLI decodes it through `dtf codec-server`, a client without the key is told so, and
 * a history written under one key still decodes after the current key changes.
 */
import { Client } from '@temporalio/client';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CODEC_KEY_FILE_ENV } from '../../src/codec/data-converter';
import { addKeyToFile, createKeyFile, writeKeyFile } from '../../src/codec/key-file';
import { newBatchId, settledResult, startTasks } from '../../src/cli/submit';
import { connectClient } from '../../src/config/connection';
import { freePort } from '../../src/server/dev-server';
import { DTF_BIN, LocalFleet, WorkerProcess } from '../../src/server/local-fleet';
import { findOrInstallTemporalCli } from '../../src/server/temporal-cli';
import { attemptOf } from '../../src/cli/task-view';
import { FLEET_WATCH_WORKFLOW_ID } from '../../src/workflows/fleet-watch';
import { spec, startTestFleet, testAddress } from '../helpers';

const run = promisify(execFile);
const HOST = 'codec-1';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface FoundPayload {
  where: string;
  encoding: string;
  keyId?: string;
  text: string;
}

/** Every payload of a history as `temporal workflow show --output json` prints it (proto JSON: base64 fields). */
function payloadsOf(node: unknown, where = ''): FoundPayload[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => payloadsOf(n, `${where}[${i}]`));
  if (!node || typeof node !== 'object') return [];
  const obj = node as Record<string, unknown>;
  const found: FoundPayload[] = [];
  if (obj.metadata && typeof obj.metadata === 'object' && 'encoding' in (obj.metadata as object)) {
    const p = obj as JsonPayload;
    const b64 = (s?: string) => Buffer.from(s ?? '', 'base64').toString('utf8');
    found.push({ where, encoding: b64(p.metadata!.encoding), keyId: p.metadata!['encryption-key-id'] && b64(p.metadata!['encryption-key-id']), text: b64(p.data) });
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'metadata') found.push(...payloadsOf(v, `${where}.${k}`));
  return found;
}

/** Payloads Temporal keeps out of the codec on purpose: search attributes (indexed by the server) and SDK patch markers. */
const outsideCodec = (p: FoundPayload) => p.where.includes('.searchAttributes.') || p.where.includes('.patch-data.');

describe('encrypted payloads (AES-256-GCM codec)', () => {
  let dir: string;
  let keyFile: string;
  let fleet: LocalFleet;
  let worker: WorkerProcess;
  let client: Client;
  let temporalBin: string;
  const started: string[] = [];

  const showHistory = async (workflowId: string, codec?: { url: string; auth?: string }) => {
    const args = ['--address', testAddress(), 'workflow', 'show', '-w', workflowId, '--output', 'json'];
    if (codec) args.push('--codec-endpoint', codec.url, ...(codec.auth ? ['--codec-auth', codec.auth] : []));
    const { stdout } = await run(temporalBin, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    return JSON.parse(stdout) as unknown;
  };
  const startWorker = (file: string) => fleet.addWorker({ hostId: HOST, env: { [CODEC_KEY_FILE_ENV]: file } });
  const runEncrypted = async (c: Client, input: Parameters<typeof spec>[0]) => {
    const [handle] = await startTasks(c, [spec(input)], newBatchId());
    started.push(handle.workflowId);
    return { workflowId: handle.workflowId, result: await settledResult(handle, 250) };
  };
  const dtf = (args: string[], env: NodeJS.ProcessEnv) =>
    run(process.execPath, [DTF_BIN, '--address', testAddress(), ...args], { env, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  const envWithout = (extra: NodeJS.ProcessEnv = {}) => {
    const env = { ...process.env, ...extra };
    if (!extra[CODEC_KEY_FILE_ENV]) delete env[CODEC_KEY_FILE_ENV];
    return env;
  };

  beforeAll(async () => {
    temporalBin = findOrInstallTemporalCli();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-codec-'));
    keyFile = path.join(dir, 'keys.json');
    createKeyFile(keyFile, 'key-a');
    fleet = await startTestFleet([]);
    worker = await startWorker(keyFile);
    client = await connectClient({ address: testAddress(), codecKeyFile: keyFile });
  });

  afterAll(async () => {
    // The fleet watch this worker ran now has encrypted payloads: end it (before the worker stops, so that the worker
    // cannot continue it as new on its way out; and with a client still open), so that later workers without the key
    // start a fresh one, and end any task of ours still open.
    for (const id of [FLEET_WATCH_WORKFLOW_ID, ...started]) await fleet?.client.workflow.getHandle(id).terminate('codec test over').catch(() => undefined);
    await fleet?.stop();
    await client?.connection.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const marker = 'OUTPUT-MARKER-5c1e';
  const envMarker = 'ENV-VALUE-77b0';
  let passedId: string;

  it('runs a task to its result, and the raw history holds none of its command, environment or output', async () => {
    const { workflowId, result } = await runEncrypted(client, {
      name: 'codec-pass',
      command: ['sh', '-c', `echo ${marker}-$CODEC_ENV_MARKER`],
      env: { CODEC_ENV_MARKER: envMarker },
      labels: { suite: 'codec' },
    });
    passedId = workflowId;
    expect(result.status).toBe('passed');
    expect(result.outputTail).toContain(`${marker}-${envMarker}`);

    const raw = await showHistory(workflowId);
    const text = JSON.stringify(raw);
    const payloads = payloadsOf(raw);
    // Not just the JSON (whose payloads are base64): every payload, decoded.
    for (const needle of [marker, envMarker, 'CODEC_ENV_MARKER', 'sh -c']) {
      expect(text).not.toContain(needle);
      expect(payloads.filter((p) => p.text.includes(needle)).map((p) => p.where)).toEqual([]);
    }
    const inside = payloads.filter((p) => !outsideCodec(p));
    expect(inside.length).toBeGreaterThanOrEqual(4); // input, summary, activity input and result, workflow result
    expect(inside.filter((p) => p.encoding !== 'binary/encrypted').map((p) => `${p.where}: ${p.encoding}`)).toEqual([]);
    expect(new Set(inside.map((p) => p.keyId))).toEqual(new Set(['key-a']));
    // Search attributes stay readable (and hold none of the above).
    const attrs = payloads.filter((p) => p.where.includes('.searchAttributes.'));
    expect(attrs.every((p) => p.encoding === 'json/plain')).toBe(true);
    expect(attrs.some((p) => p.where.endsWith('DtfStatus') && p.text === '"passed"')).toBe(true);
    expect(attrs.some((p) => p.where.endsWith('DtfLabels') && p.text.includes('suite=codec'))).toBe(true);
    const listed = await fleet.client.workflow.list({ query: `WorkflowId = '${workflowId}' AND DtfStatus = 'passed'` });
    let count = 0;
    for await (const wf of listed) count += wf.workflowId === workflowId ? 1 : 0;
    expect(count).toBe(1);
  });

  it('the live view of a running attempt (dtf logs, dtf status) decodes its encrypted heartbeat', async () => {
    const [handle] = await startTasks(client, [spec({ name: 'codec-live', command: ['sh', '-c', `echo ${marker}-live; sleep 4`] })], newBatchId());
    started.push(handle.workflowId);
    let live: Awaited<ReturnType<typeof attemptOf>>;
    const deadline = Date.now() + 20_000;
    while (!(live?.output?.lines ?? []).some((l) => l.includes(`${marker}-live`))) {
      if (Date.now() > deadline) throw new Error(`no decoded live line; last view: ${JSON.stringify(live)}`);
      await new Promise((r) => setTimeout(r, 250));
      live = await attemptOf(client, await handle.describe());
    }
    expect(live!.hostId).toBe(HOST);
    expect((await settledResult(handle, 250)).status).toBe('passed');
  });

  it('a failing task: its error message and output are encrypted too (failure attributes go through the codec)', async () => {
    const failMarker = 'FAIL-MARKER-3d9a';
    const { workflowId, result } = await runEncrypted(client, {
      name: 'codec-fail',
      command: ['sh', '-c', `echo ${failMarker}; echo "AssertionError: ${failMarker}" >&2; exit 1`],
      deadLetterRetentionSeconds: 0,
    });
    expect(result.status).not.toBe('passed');
    const raw = await showHistory(workflowId);
    expect(JSON.stringify(raw)).not.toContain(failMarker);
    expect(payloadsOf(raw).filter((p) => p.text.includes(failMarker)).map((p) => p.where)).toEqual([]);
    expect(JSON.stringify(raw)).toContain('Encoded failure');
  });

  describe('through dtf codec-server', () => {
    let server: ChildProcess;
    let url: string;
    beforeAll(async () => {
      const port = await freePort();
      server = spawn(process.execPath, [DTF_BIN, 'codec-server', '--port', String(port), '--key-file', keyFile, '--auth-token-env', 'CODEC_TOKEN'], {
        env: { ...envWithout(), CODEC_TOKEN: 'token-9f' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /codec server on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        server.once('exit', (code) => reject(new Error(`codec server exited ${code}: ${out}`)));
      });
    });
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    it('the Temporal CLI shows the decrypted history', async () => {
      const decoded = payloadsOf(await showHistory(passedId, { url, auth: 'Bearer token-9f' }));
      expect(decoded.filter((p) => p.encoding === 'binary/encrypted').map((p) => p.where)).toEqual([]);
      const started = decoded.find((p) => p.where.includes('workflowExecutionStartedEventAttributes.input'));
      expect(started?.text).toContain(marker);
      expect(started?.text).toContain(envMarker);
      const completed = decoded.find((p) => p.where.includes('workflowExecutionCompletedEventAttributes.result'));
      expect(JSON.parse(completed!.text)).toMatchObject({ status: 'passed', outputTail: expect.stringContaining(marker) });
    });

    it('refuses a caller without the token', async () => {
      const res = await fetch(`${url}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"payloads":[]}' });
      expect(res.status).toBe(401);
    });
  });

  it('a client without the key gets a clear error, not garbage', async () => {
    const noKey = await dtf(['status', passedId, '--json'], envWithout());
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/payloads are encrypted \(binary\/encrypted\) and this process has no key: pass --codec-key-file FILE or set DTF_CODEC_KEY_FILE/);
    expect(noKey.stdout + noKey.stderr).not.toContain(marker);

    const otherFile = path.join(dir, 'other.json');
    createKeyFile(otherFile, 'unrelated');
    const wrongKey = await dtf(['--codec-key-file', otherFile, 'status', passedId], envWithout());
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/key id "key-a", which the key file .*other\.json does not hold \(it holds unrelated\)/);

    const withKey = await dtf(['--codec-key-file', keyFile, 'status', passedId, '--json'], envWithout());
    expect(withKey.code).toBe(0);
    expect(JSON.parse(withKey.stdout).result.outputTail).toContain(marker);
    // The spec the page shows comes from the (encrypted) workflow input.
    expect(JSON.parse(withKey.stdout).spec).toMatchObject({ name: 'codec-pass', hardware: { class: 'cpu' } });
  });

  it('rotation: after the current key becomes B, new payloads use B and the history written under A still decodes', async () => {
    expect(addKeyToFile(keyFile, { id: 'key-b' })).toBe('key-b');
    await worker.stop();
    worker = await startWorker(keyFile);
    const rotated = await connectClient({ address: testAddress(), codecKeyFile: keyFile });
    try {
      const { workflowId, result } = await runEncrypted(rotated, { name: 'codec-rotated', command: ['sh', '-c', `echo ${marker}-after`] });
      expect(result.status).toBe('passed');
      const inside = payloadsOf(await showHistory(workflowId)).filter((p) => !outsideCodec(p));
      expect(new Set(inside.map((p) => p.keyId))).toEqual(new Set(['key-b']));
      // The old history, read with the rotated file.
      const old = (await rotated.workflow.getHandle(passedId).result()) as { outputTail?: string };
      expect(old.outputTail).toContain(marker);
    } finally {
      await rotated.connection.close();
    }
    // A file that dropped key A cannot read A's history, and says which key it lacks.
    const onlyB = path.join(dir, 'only-b.json');
    const content = JSON.parse(fs.readFileSync(keyFile, 'utf8')) as { current: string; keys: Record<string, string> };
    writeKeyFile(onlyB, { current: 'key-b', keys: { 'key-b': content.keys['key-b'] } }, { overwrite: false });
    const lacking = await dtf(['--codec-key-file', onlyB, 'status', passedId], envWithout());
    expect(lacking.code).toBe(2);
    expect(lacking.stderr).toMatch(/key id "key-a", which the key file .*only-b\.json does not hold \(it holds key-b\)/);
  });
});
