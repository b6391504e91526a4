/** A local HTTP receiver for webhook notifications, for unit and integration tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, VerifyResult, verifyWebhookSignature } from '../src/notifications/webhook-signature';

export interface Received {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  /** The body as it arrived (signatures are over these bytes). */
  raw: string;
  /** The signature check against `signingSecret`, when the receiver has one. */
  verified?: VerifyResult;
}

export interface ReceiverOptions {
  /** Verify each delivery's X-Dtf-Signature with this secret, as a receiver in production would. */
  signingSecret?: string;
  /** Answer every request with a 307 to this URL instead of taking it. */
  redirectTo?: string;
}

/** Listens on a free local port; `statuses` are answered in order, then 200. */
export async function startWebhookReceiver(statuses: number[] = [], opts: ReceiverOptions = {}) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const verified = opts.signingSecret ? verifyWebhookSignature(opts.signingSecret, Array.isArray(header) ? header[0] : header, raw) : undefined;
      received.push({ body: JSON.parse(raw) as Record<string, unknown>, headers: req.headers, raw, ...(verified ? { verified } : {}) });
      if (opts.redirectTo) {
        res.writeHead(307, { location: opts.redirectTo });
        res.end();
        return;
      }
      res.statusCode = verified && !verified.ok ? 401 : (statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/SECRET-TOKEN`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  /** Bodies of the notifications of one kind received so far. */
  const ofKind = (kind: string) => received.map((r) => r.body).filter((b) => b.kind === kind);
  return { url, received, ofKind, close };
}
