import { Writable } from 'node:stream';
import pino from 'pino';
import { breakerNotification, quarantineNotification } from '../../src/notifications/events';
import {
  NotificationsConfig,
  Notifier,
  createNotifier,
  logSink,
  notification,
  webhookSink,
} from '../../src/notifications/notifier';
import { signWebhook, verifyWebhookSignature } from '../../src/notifications/webhook-signature';
import { startWebhookReceiver } from '../webhook-receiver';

/** A pino logger whose lines land in an array. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const receiver = startWebhookReceiver;

const critical = notification('host_quarantined', 'host gpu-07 quarantined itself', { hostId: 'gpu-07' });
const info = notification('breaker_closed', 'breaker closed', { service: 'store' });

describe('notification()', () => {
  it('uses the kind\'s default severity', () => {
    expect(notification('dead_lettered', 't').severity).toBe('warning');
    expect(notification('breaker_open', 't').severity).toBe('warning');
    expect(notification('host_quarantined', 't').severity).toBe('critical');
    expect(notification('recurring_error', 't').severity).toBe('warning');
    expect(notification('recurring_error', 't', {}, { severity: 'critical' }).severity).toBe('critical');
  });
});

describe('logSink', () => {
  it('writes a structured line at the level of the severity', async () => {
    const { logger, lines } = captureLogger();
    await new Notifier([logSink(logger)]).notify(critical);
    await new Notifier([logSink(logger)]).notify(info);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'host gpu-07 quarantined itself', notification: 'host_quarantined', severity: 'critical', details: { hostId: 'gpu-07' } });
    expect(lines[1]).toMatchObject({ level: 30, severity: 'info' });
  });
});

describe('webhookSink against a local receiver', () => {
  it('POSTs the notification as JSON, with its severity and the configured headers', async () => {
    const r = await receiver();
    try {
      await new Notifier([webhookSink({ url: r.url, headers: { authorization: 'Bearer t' } })]).notify(critical);
      expect(r.received).toHaveLength(1);
      expect(r.received[0].body).toEqual(JSON.parse(JSON.stringify(critical)));
      expect(r.received[0].body.severity).toBe('critical');
      expect(r.received[0].headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer t' });
    } finally {
      await r.close();
    }
  });

  it('drops notifications below minSeverity (default warning)', async () => {
    const r = await receiver();
    try {
      await new Notifier([webhookSink({ url: r.url })]).notify(info);
      await new Notifier([webhookSink({ url: r.url, minSeverity: 'critical' })]).notify(notification('dead_lettered', 'dl'));
      expect(r.received).toHaveLength(0);
      await new Notifier([webhookSink({ url: r.url, minSeverity: 'info' })]).notify(info);
      expect(r.received).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it('retries a receiver that answers 500 twice, then 200', async () => {
    const r = await receiver([500, 500]);
    const { logger, lines } = captureLogger();
    try {
      await new Notifier([webhookSink({ url: r.url, backoffMs: 10, logger })]).notify(critical);
      expect(r.received).toHaveLength(3);
      expect(lines).toHaveLength(0);
    } finally {
      await r.close();
    }
  });

  it('gives up after two retries, logs why without the URL\'s secret path, and does not throw', async () => {
    const r = await receiver([503, 503, 503, 503]);
    const { logger, lines } = captureLogger();
    try {
      await expect(new Notifier([webhookSink({ url: r.url, backoffMs: 10, logger })]).notify(critical)).resolves.toBeUndefined();
      expect(r.received).toHaveLength(3);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, error: 'HTTP 503' });
      expect(JSON.stringify(lines[0])).not.toContain('SECRET-TOKEN');
    } finally {
      await r.close();
    }
  });

  it('does not retry a 4xx other than 429', async () => {
    const r = await receiver([400]);
    try {
      await new Notifier([webhookSink({ url: r.url, backoffMs: 10 })]).notify(critical);
      expect(r.received).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it('an unreachable URL does not throw and does not hold up the other sinks', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    await r.close();
    const { logger, lines } = captureLogger();
    const notifier = new Notifier([webhookSink({ url: `http://127.0.0.1:${port}/hook`, backoffMs: 10, logger }), logSink(logger)]);
    await expect(notifier.notify(critical)).resolves.toBeUndefined();
    expect(lines.map((l) => l.msg)).toEqual(['host gpu-07 quarantined itself', `could not deliver a notification to http://127.0.0.1:${port}`]);
    expect(lines[1].error).toMatch(/ECONNREFUSED/);
  });
});

describe('signed webhooks', () => {
  const secret = 'whsec-test-0123456789';

  it('signs each delivery so that a receiver holding the secret verifies it, and one without it does not', async () => {
    const good = await startWebhookReceiver([], { signingSecret: secret });
    const wrong = await startWebhookReceiver([], { signingSecret: 'another-secret' });
    const { logger, lines } = captureLogger();
    try {
      await new Notifier([webhookSink({ url: good.url, signingSecret: secret, logger }), webhookSink({ url: wrong.url, signingSecret: secret, backoffMs: 10, logger })]).notify(critical);
      expect(good.received).toHaveLength(1);
      expect(good.received[0].headers['x-dtf-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(good.received[0].verified).toEqual({ ok: true, timestamp: expect.any(Number) });
      expect(wrong.received[0].verified).toEqual({ ok: false, reason: 'signature does not match' });
      expect(lines.map((l) => l.error)).toEqual(['HTTP 401']); // a refused signature is a failed delivery
    } finally {
      await good.close();
      await wrong.close();
    }
  });

  it('verification refuses a changed body, a stale timestamp and a missing header; accepts any of several v1 values', () => {
    const body = JSON.stringify(critical);
    const now = 1_700_000_000;
    const header = signWebhook(secret, body, now);
    expect(verifyWebhookSignature(secret, header, body, { nowSeconds: now + 10 })).toEqual({ ok: true, timestamp: now });
    expect(verifyWebhookSignature(secret, header, body.replace('gpu-07', 'gpu-08'), { nowSeconds: now })).toMatchObject({ ok: false, reason: 'signature does not match' });
    expect(verifyWebhookSignature(secret, header, body, { nowSeconds: now + 301 })).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifyWebhookSignature(secret, undefined, body)).toMatchObject({ ok: false });
    expect(verifyWebhookSignature(secret, `t=${now},v1=${'0'.repeat(64)},${header.split(',')[1]}`, body, { nowSeconds: now })).toMatchObject({ ok: true });
  });

  it('an unsigned sink sends no signature header', async () => {
    const r = await receiver();
    try {
      await new Notifier([webhookSink({ url: r.url })]).notify(critical);
      expect(r.received[0].headers['x-dtf-signature']).toBeUndefined();
    } finally {
      await r.close();
    }
  });

  it('takes the secret from the variable the config names, and refuses to start when it is not set', async () => {
    const { logger } = captureLogger();
    const r = await startWebhookReceiver([], { signingSecret: secret });
    try {
      await createNotifier({ webhooks: [{ url: r.url, signingSecretEnv: 'HOOK_SECRET' }] }, logger, { HOOK_SECRET: secret }).notify(critical);
      expect(r.received[0].verified).toMatchObject({ ok: true });
    } finally {
      await r.close();
    }
    expect(() => createNotifier({ webhooks: [{ url: 'http://127.0.0.1:9/h', signingSecretEnv: 'HOOK_SECRET' }] }, logger, {})).toThrow(
      'notifications.webhooks[0].signingSecretEnv names HOOK_SECRET, which is not set',
    );
    expect(NotificationsConfig.safeParse({ webhooks: [{ url: 'http://x', signingSecretEnv: 'not a name' }] }).success).toBe(false);
  });
});

describe('redirects', () => {
  it('are not followed: a 3xx is a failed delivery, logged with where it pointed (origin only), not retried', async () => {
    const elsewhere = await receiver();
    const redirecting = await startWebhookReceiver([], { redirectTo: `${elsewhere.url}/stolen` });
    const { logger, lines } = captureLogger();
    try {
      await new Notifier([webhookSink({ url: redirecting.url, backoffMs: 10, logger, signingSecret: 's3cret-value' })]).notify(critical);
      expect(redirecting.received).toHaveLength(1);
      expect(elsewhere.received).toHaveLength(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, error: `HTTP 307 redirect to ${new URL(elsewhere.url).origin}, not followed` });
      expect(JSON.stringify(lines[0])).not.toContain('SECRET-TOKEN');
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});

describe('config', () => {
  it('defaults to the log sink only, and builds one sink per webhook', () => {
    const { logger } = captureLogger();
    expect(createNotifier(undefined, logger).sinks.map((s) => s.name)).toEqual(['log']);
    const n = createNotifier({ webhooks: [{ url: 'http://127.0.0.1:9/hook/x' }] }, logger);
    expect(n.sinks.map((s) => s.name)).toEqual(['log', 'webhook http://127.0.0.1:9']);
  });

  it('rejects a non-http URL and unknown fields', () => {
    expect(NotificationsConfig.safeParse({ webhooks: [{ url: 'file:///etc/passwd' }] }).success).toBe(false);
    expect(NotificationsConfig.safeParse({ webhooks: [{ url: 'http://x', severity: 'info' }] }).success).toBe(false);
  });
});

describe('event wording', () => {
  it('turns breaker and quarantine events into notifications, skipping half-open', () => {
    expect(breakerNotification('store', 'open', { retryAfterMs: 30_000 })).toMatchObject({ kind: 'breaker_open', severity: 'warning', details: { service: 'store', retryAfterMs: 30_000 } });
    expect(breakerNotification('store', 'half-open', {})).toBeUndefined();
    expect(quarantineNotification('gpu-07', { type: 'quarantined', reason: 'r', failures: 3, until: 0, at: 0 })).toMatchObject({ kind: 'host_quarantined', severity: 'critical', at: '1970-01-01T00:00:00.000Z' });
    expect(quarantineNotification('gpu-07', { type: 'recovered', quarantinedForMs: 1, at: 0 })).toMatchObject({ kind: 'host_recovered', severity: 'info' });
  });
});
