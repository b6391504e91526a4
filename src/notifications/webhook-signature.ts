/**
 * Webhook signatures, in the scheme common webhook providers use: `X-Dtf-Signature: t=<unix seconds>,v1=<hex>`,
 * where the hex is HMAC-SHA256 over `<t>.<body>` with the shared secret. The timestamp lets a receiver refuse replays;
 * a receiver verifies with verifyWebhookSignature (or the README's few lines in any language).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Dtf-Signature';
/** How old a signature a receiver accepts by default: enough for retries and clock skew, short enough against replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a signature header against the raw body as received (before any JSON parsing). Several `v1=` values are
 * allowed, so a sender can sign with an old and a new secret while they rotate.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  opts: { toleranceSeconds?: number; nowSeconds?: number } = {},
): VerifyResult {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v);
  const timestamp = Number(t);
  if (!t || !Number.isInteger(timestamp)) return { ok: false, reason: 'no timestamp (t=) in the signature header' };
  if (!signatures.length) return { ok: false, reason: 'no v1= signature in the signature header' };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: `timestamp ${timestamp} is outside the tolerance` };
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  const matches = signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'signature does not match' };
}
