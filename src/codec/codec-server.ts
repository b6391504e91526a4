/**
 * `dtf codec-server`: Temporal's codec-server protocol over HTTP, so that `temporal workflow show --codec-endpoint`
 * and the Web UI show decrypted payloads to people who hold the key. POST …/encode and …/decode take and return
 * `{"payloads": [Payload as proto JSON]}`; only the last path segment counts, so it can be mounted under any prefix.
 * The Web UI calls it from the browser: its origin must be allowed (CORS), and a bearer token can be required.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { CodecKeyError } from './aes-gcm-codec';

export const DEFAULT_CODEC_SERVER_PORT = 8888;
/** The dev server's Web UI (dtf server's default UI port, by both names). */
export const DEFAULT_CORS_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const JsonPayload = z.object({
  metadata: z.record(z.string(), z.string().base64('expected base64')).nullish(),
  data: z.string().base64('expected base64').nullish(),
});
const PayloadsBody = z.object({ payloads: z.array(JsonPayload) });

export interface CodecServerOptions {
  codec: PayloadCodec;
  port?: number;
  host?: string;
  /** Browser origins allowed to call it (the Web UI's), exact match. */
  corsOrigins?: string[];
  /** When set, every encode/decode needs `Authorization: Bearer <token>`. */
  authToken?: string;
  log?: (line: string) => void;
}

export interface RunningCodecServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function payloadFromJson(json: z.infer<typeof JsonPayload>): Payload {
  return temporal.api.common.v1.Payload.fromObject({ metadata: json.metadata ?? {}, data: json.data ?? '' });
}

export function payloadToJson(payload: Payload): { metadata: Record<string, string>; data: string } {
  const obj = temporal.api.common.v1.Payload.toObject(temporal.api.common.v1.Payload.fromObject(payload), { bytes: String, defaults: true });
  return { metadata: obj.metadata ?? {}, data: obj.data ?? '' };
}

function sameToken(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): Payload[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
  const parsed = PayloadsBody.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `body: ${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message} (expected {"payloads": [{"metadata": {…base64}, "data": base64}]})`);
  }
  return parsed.data.payloads.map(payloadFromJson);
}

export function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const origins = new Set(opts.corsOrigins ?? DEFAULT_CORS_ORIGINS);
  const log = opts.log ?? (() => undefined);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const allowedOrigin = origin !== undefined && origins.has(origin);
    if (allowedOrigin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const namespace = String(req.headers['x-namespace'] ?? '-');
    const endpoint = (req.url ?? '').split('?')[0].replace(/\/+$/, '').split('/').pop();
    const reply = (status: number, body?: unknown, note = '') => {
      log(`${req.method} ${req.url} namespace=${namespace} origin=${origin ?? '-'} → ${status}${note ? ` ${note}` : ''}`);
      if (body === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') {
      // A browser asks first (preflight); it sends no credentials, so only the origin decides.
      if (!allowedOrigin) return reply(403, { error: `origin ${origin ?? '(none)'} is not allowed; start the codec server with --cors-origin ${origin ?? 'URL'}` });
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      return reply(204);
    }
    if (endpoint !== 'encode' && endpoint !== 'decode') return reply(404, { error: 'expected POST …/encode or …/decode' });
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      return reply(405, { error: `${req.method} not allowed; POST` });
    }
    if (opts.authToken !== undefined) {
      const header = req.headers.authorization ?? '';
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
      if (!token || !sameToken(token, opts.authToken)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return reply(401, { error: 'missing or wrong bearer token (Authorization: Bearer …)' });
      }
    }
    void (async () => {
      try {
        const payloads = parseBody(await readBody(req));
        const out = endpoint === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
        reply(200, { payloads: out.map(payloadToJson) }, `${payloads.length} payload(s)`);
      } catch (err) {
        if (err instanceof HttpError) return reply(err.status, { error: err.message });
        if (err instanceof CodecKeyError) return reply(422, { error: err.message });
        reply(500, { error: (err as Error).message });
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_SERVER_PORT, opts.host ?? '127.0.0.1', () => {
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        server,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
