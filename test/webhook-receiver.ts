/** A local HTTP receiver for webhook notifications, for unit and integration tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/** Listens on a free local port; `statuses` are answered in order, then 200. */
export async function startWebhookReceiver(statuses: number[] = []) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ body: JSON.parse(data) as Record<string, unknown>, headers: req.headers });
      res.statusCode = statuses.shift() ?? 200;
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
