/**
 * Notifications with a severity for what an operator should hear about (dead-lettered tasks, breakers, quarantined
 * hosts, recurring errors), fanned out to sinks: a structured log and JSON webhooks. Sending never throws.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { fetchErrorMessage } from '../resilience/fetch-error';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;
const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export const NOTIFICATION_KINDS = [
  'dead_lettered',
  'breaker_open',
  'breaker_closed',
  'host_quarantined',
  'host_recovered',
  'recurring_error',
  'alert',
  'alert_resolved',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** How loud each kind is unless the sender says otherwise. */
export const DEFAULT_SEVERITY: Record<NotificationKind, Severity> = {
  dead_lettered: 'warning',
  breaker_open: 'warning',
  breaker_closed: 'info',
  host_quarantined: 'critical',
  host_recovered: 'info',
  recurring_error: 'warning',
  /** An alert rule's own severity applies (alerts: in the deployment config). */
  alert: 'warning',
  alert_resolved: 'info',
};

export interface Notification {
  severity: Severity;
  kind: NotificationKind;
  title: string;
  details: Record<string, unknown>;
  /** ISO 8601. */
  at: string;
}

/** A notification with its kind's default severity, stamped now. */
export function notification(
  kind: NotificationKind,
  title: string,
  details: Record<string, unknown> = {},
  opts: { severity?: Severity; at?: Date } = {},
): Notification {
  return { severity: opts.severity ?? DEFAULT_SEVERITY[kind], kind, title, details, at: (opts.at ?? new Date()).toISOString() };
}

export function atLeast(severity: Severity, min: Severity): boolean {
  return RANK[severity] >= RANK[min];
}

export interface NotificationSink {
  readonly name: string;
  /** Must not throw; a sink that cannot deliver logs why. */
  send(n: Notification): Promise<void>;
}

const LOG_LEVEL: Record<Severity, 'info' | 'warn' | 'error'> = { info: 'info', warning: 'warn', critical: 'error' };

export function logSink(logger: Logger, minSeverity: Severity = 'info'): NotificationSink {
  return {
    name: 'log',
    async send(n) {
      if (!atLeast(n.severity, minSeverity)) return;
      logger[LOG_LEVEL[n.severity]]({ notification: n.kind, severity: n.severity, details: n.details, at: n.at }, n.title);
    },
  };
}

export interface WebhookSinkOptions {
  url: string;
  timeoutMs?: number;
  minSeverity?: Severity;
  headers?: Record<string, string>;
  /** Retries after the first try (default 2). */
  retries?: number;
  /** Delay before the first retry, doubled for each next one. */
  backoffMs?: number;
  /** Where delivery failures go. */
  logger?: Logger;
  /** Signs every delivery (X-Dtf-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")) with this secret. */
  signingSecret?: string;
}

/** Webhook URLs often carry their secret in the path (Slack, Teams): log the origin only. */
function safeTarget(url: string, base?: string): string {
  try {
    return new URL(url, base).origin;
  } catch {
    return '(invalid url)';
  }
}

/** 429 and 5xx may pass on a retry; other 4xx will not. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

export function webhookSink(opts: WebhookSinkOptions): NotificationSink {
  const { url, timeoutMs = 3_000, minSeverity = 'warning', headers = {}, retries = 2, backoffMs = 200, logger } = opts;
  const target = safeTarget(url);
  return {
    name: `webhook ${target}`,
    async send(n) {
      if (!atLeast(n.severity, minSeverity)) return;
      const body = JSON.stringify(n);
      let lastError = '';
      for (let attempt = 0; attempt <= retries; attempt += 1) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
        try {
          const res = await fetch(url, {
            method: 'POST',
            // Signed per try, so a retry carries a fresh timestamp.
            headers: { 'content-type': 'application/json', ...headers, ...(opts.signingSecret ? { [SIGNATURE_HEADER]: signWebhook(opts.signingSecret, body) } : {}) },
            body,
            signal: AbortSignal.timeout(timeoutMs),
            // A redirect would carry the notification (and its headers) somewhere nobody configured: not followed.
            redirect: 'manual',
          });
          await res.body?.cancel().catch(() => undefined);
          if (res.ok) return;
          lastError = res.status >= 300 && res.status < 400 ? `HTTP ${res.status} redirect to ${safeTarget(res.headers.get('location') ?? '', url)}, not followed` : `HTTP ${res.status}`;
          if (!retryable(res.status)) break;
        } catch (err) {
          lastError = fetchErrorMessage(err);
        }
      }
      logger?.warn({ target, notification: n.kind, severity: n.severity, error: lastError }, `could not deliver a notification to ${target}`);
    },
  };
}

export class Notifier {
  constructor(readonly sinks: readonly NotificationSink[]) {}

  /** Delivers to every sink at once; resolves when all have finished or given up, never rejects. */
  async notify(n: Notification): Promise<void> {
    await Promise.allSettled(this.sinks.map((s) => s.send(n)));
  }
}

export const WebhookConfig = z
  .object({
    url: z.string().url().refine((u) => /^https?:/i.test(u), 'expected an http(s) URL'),
    minSeverity: Severity.default('warning'),
    timeoutMs: z.number().int().min(100).max(60_000).default(3_000),
    /** e.g. an Authorization header; never logged. */
    headers: z.record(z.string()).optional(),
    /** The worker environment variable that holds the signing secret (by reference: the secret is never in the file). */
    signingSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
  })
  .strict();

export const NotificationsConfig = z
  .object({
    /** Lowest severity written to the log. */
    logMinSeverity: Severity.default('info'),
    webhooks: z.array(WebhookConfig).default([]),
  })
  .strict();
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;
export type NotificationsConfigInput = z.input<typeof NotificationsConfig>;

/**
 * The notifier a deployment's config describes: the log sink plus one sink per webhook. A webhook whose signing
 * secret's variable is not set is an error here, at start-up, naming the variable: unsigned delivery is not a fallback.
 */
export function createNotifier(config: NotificationsConfigInput | undefined, logger: Logger, env: Readonly<Record<string, string | undefined>> = process.env): Notifier {
  const c = NotificationsConfig.parse(config ?? {});
  const webhooks = c.webhooks.map(({ signingSecretEnv, ...w }, i) => {
    const signingSecret = signingSecretEnv ? env[signingSecretEnv] : undefined;
    if (signingSecretEnv && !signingSecret) {
      throw new Error(`notifications.webhooks[${i}].signingSecretEnv names ${signingSecretEnv}, which is not set in this process's environment`);
    }
    return webhookSink({ ...w, logger, signingSecret });
  });
  return new Notifier([logSink(logger, c.logMinSeverity), ...webhooks]);
}
