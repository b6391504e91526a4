/**
 * The seeds' alert rules, evaluated live by every worker over a sliding window of what it saw itself: the attempts
 * it ran, the task records it wrote, its own connection to the server. Pure: events come in with their time,
 * `evaluate(now)` says which rules start or stop firing. Each rule fires once per episode and says when it clears.
 * Fleet-wide rates over every worker are the Prometheus rules' job (deploy/prometheus/alerts.yml, same thresholds).
 */
import { z } from 'zod';
import { Severity } from '../notifications/notifier';

const ms = z.number().int().min(1_000).max(86_400_000);
const ratio = z.number().min(0).max(1);
const rule = <T extends z.ZodRawShape>(shape: T, severity: Severity) =>
  z.object({ enabled: z.boolean().default(true), severity: Severity.default(severity), ...shape }).strict();

/** `alerts:` in the deployment config: every threshold, window and severity of the live rules. */
export const AlertsConfig = z
  .object({
    /** Settled tasks that passed, over the window, below `threshold` (seed 004: < 0.95 critical). */
    taskSuccessRate: rule({ threshold: ratio.default(0.95), windowMs: ms.default(300_000), minTasks: z.number().int().min(1).default(10) }, 'critical').default({}),
    /** Attempts on this host that ended in an error (not passed, not a test's own failure), above `threshold` (seed 003: > 10 % critical). */
    errorRate: rule({ threshold: ratio.default(0.1), windowMs: ms.default(300_000), minAttempts: z.number().int().min(1).default(10) }, 'critical').default({}),
    /** One error category more than `threshold` times within the window on this host (seed 003: > 10 in 5 min, warning). */
    categoryBurst: rule({ threshold: z.number().int().min(1).default(10), windowMs: ms.default(300_000) }, 'warning').default({}),
    /** Tasks that hit an infrastructure error and still did not reach a test verdict, above `threshold` (seed 003: > 20 %). */
    recoveryFailureRate: rule({ threshold: ratio.default(0.2), windowMs: ms.default(900_000), minTasks: z.number().int().min(1).default(5) }, 'critical').default({}),
    /** Reconnects of this worker to the server, more than `threshold` within the window (seed 004: > 3 a minute, warning). */
    reconnectRate: rule({ threshold: z.number().int().min(1).default(3), windowMs: ms.default(60_000) }, 'warning').default({}),
    /** A lost connection that is not back after `afterMs` is a failed reconnect (seed 004: critical). */
    reconnectFailed: rule({ afterMs: ms.default(30_000) }, 'critical').default({}),
    /** How often the worker checks its connection and evaluates the rules. */
    checkIntervalMs: z.number().int().min(200).max(600_000).default(5_000),
  })
  .strict();
export type AlertsConfig = z.infer<typeof AlertsConfig>;
export type AlertsConfigInput = z.input<typeof AlertsConfig>;

export const ALERT_RULES = ['task_success_rate', 'error_rate', 'category_burst', 'recovery_failure_rate', 'reconnect_rate', 'reconnect_failed'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** Task statuses a success rate counts: an operator's cancel or discard is no verdict on the fleet. */
const RATED_STATUSES = new Set(['passed', 'failed', 'error', 'dead_lettered', 'expired']);

export interface AlertChange {
  rule: AlertRule;
  /** Set for per-category rules. */
  key?: string;
  state: 'firing' | 'resolved';
  severity: Severity;
  /** The measured value (a rate, a count or milliseconds) and the threshold it crossed. */
  value: number;
  threshold: number;
  windowMs: number;
  /** How many events the value is over. */
  samples: number;
  summary: string;
}

interface Stamped<T> {
  at: number;
  v: T;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const mins = (windowMs: number) => (windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`);

export class AlertEvaluator {
  readonly config: AlertsConfig;
  private tasks: Stamped<{ status: string; infraError: boolean; recovered: boolean }>[] = [];
  private attempts: Stamped<{ error: boolean; category?: string }>[] = [];
  private reconnects: number[] = [];
  private disconnectedSince: number | undefined;
  private readonly firing = new Map<string, AlertChange>();
  private readonly longest: number;

  constructor(config: AlertsConfigInput = {}) {
    this.config = AlertsConfig.parse(config);
    const c = this.config;
    this.longest = Math.max(c.taskSuccessRate.windowMs, c.errorRate.windowMs, c.categoryBurst.windowMs, c.recoveryFailureRate.windowMs, c.reconnectRate.windowMs);
  }

  /** A settled task (one record written): its final status, and whether it hit an infrastructure error on the way. */
  taskSettled(at: number, t: { status: string; infraError: boolean }): void {
    this.tasks.push({ at, v: { status: t.status, infraError: t.infraError, recovered: t.status === 'passed' || t.status === 'failed' } });
  }

  /** An attempt this host ran: `error` when it ended neither passed nor as the test's own failure. */
  attemptEnded(at: number, a: { error: boolean; category?: string }): void {
    this.attempts.push({ at, v: a });
  }

  connectionLost(at: number): void {
    if (this.disconnectedSince === undefined) this.disconnectedSince = at;
  }

  reconnected(at: number): void {
    this.disconnectedSince = undefined;
    this.reconnects.push(at);
  }

  /** Whether the connection has been lost for longer than reconnectFailed.afterMs (the worker counts it once). */
  reconnectOverdue(now: number): boolean {
    return this.disconnectedSince !== undefined && now - this.disconnectedSince >= this.config.reconnectFailed.afterMs;
  }

  /** Rules that start or stop firing at `now` (each once per episode). */
  evaluate(now: number): AlertChange[] {
    this.prune(now);
    const c = this.config;
    const current = new Map<string, Omit<AlertChange, 'state'>>();
    const put = (a: Omit<AlertChange, 'state'>) => current.set(a.key ? `${a.rule}/${a.key}` : a.rule, a);

    if (c.taskSuccessRate.enabled) {
      const rated = this.within(this.tasks, now, c.taskSuccessRate.windowMs).filter((t) => RATED_STATUSES.has(t.status));
      if (rated.length >= c.taskSuccessRate.minTasks) {
        const rate = rated.filter((t) => t.status === 'passed').length / rated.length;
        if (rate < c.taskSuccessRate.threshold) {
          put({ rule: 'task_success_rate', severity: c.taskSuccessRate.severity, value: rate, threshold: c.taskSuccessRate.threshold, windowMs: c.taskSuccessRate.windowMs, samples: rated.length, summary: `task success rate ${pct(rate)} < ${pct(c.taskSuccessRate.threshold)} over the last ${rated.length} tasks (${mins(c.taskSuccessRate.windowMs)})` });
        }
      }
    }
    if (c.errorRate.enabled) {
      const recent = this.within(this.attempts, now, c.errorRate.windowMs);
      if (recent.length >= c.errorRate.minAttempts) {
        const rate = recent.filter((a) => a.error).length / recent.length;
        if (rate > c.errorRate.threshold) {
          put({ rule: 'error_rate', severity: c.errorRate.severity, value: rate, threshold: c.errorRate.threshold, windowMs: c.errorRate.windowMs, samples: recent.length, summary: `error rate ${pct(rate)} > ${pct(c.errorRate.threshold)} over the last ${recent.length} attempts (${mins(c.errorRate.windowMs)})` });
        }
      }
    }
    if (c.categoryBurst.enabled) {
      const counts = new Map<string, number>();
      for (const a of this.within(this.attempts, now, c.categoryBurst.windowMs)) if (a.category) counts.set(a.category, (counts.get(a.category) ?? 0) + 1);
      for (const [category, n] of counts) {
        if (n > c.categoryBurst.threshold) {
          put({ rule: 'category_burst', key: category, severity: c.categoryBurst.severity, value: n, threshold: c.categoryBurst.threshold, windowMs: c.categoryBurst.windowMs, samples: n, summary: `${category} ${n} times in ${mins(c.categoryBurst.windowMs)} (more than ${c.categoryBurst.threshold})` });
        }
      }
    }
    if (c.recoveryFailureRate.enabled) {
      const needed = this.within(this.tasks, now, c.recoveryFailureRate.windowMs).filter((t) => t.infraError);
      if (needed.length >= c.recoveryFailureRate.minTasks) {
        const rate = needed.filter((t) => !t.recovered).length / needed.length;
        if (rate > c.recoveryFailureRate.threshold) {
          put({ rule: 'recovery_failure_rate', severity: c.recoveryFailureRate.severity, value: rate, threshold: c.recoveryFailureRate.threshold, windowMs: c.recoveryFailureRate.windowMs, samples: needed.length, summary: `recovery failure rate ${pct(rate)} > ${pct(c.recoveryFailureRate.threshold)}: of ${needed.length} tasks that hit an infrastructure error, ${needed.filter((t) => !t.recovered).length} reached no test verdict (${mins(c.recoveryFailureRate.windowMs)})` });
        }
      }
    }
    if (c.reconnectRate.enabled) {
      const n = this.reconnects.filter((t) => t > now - c.reconnectRate.windowMs).length;
      if (n > c.reconnectRate.threshold) {
        put({ rule: 'reconnect_rate', severity: c.reconnectRate.severity, value: n, threshold: c.reconnectRate.threshold, windowMs: c.reconnectRate.windowMs, samples: n, summary: `${n} reconnects to the Temporal server in ${mins(c.reconnectRate.windowMs)} (more than ${c.reconnectRate.threshold})` });
      }
    }
    if (c.reconnectFailed.enabled && this.reconnectOverdue(now)) {
      const downMs = now - this.disconnectedSince!;
      put({ rule: 'reconnect_failed', severity: c.reconnectFailed.severity, value: downMs, threshold: c.reconnectFailed.afterMs, windowMs: c.reconnectFailed.afterMs, samples: 1, summary: `no connection to the Temporal server for ${Math.round(downMs / 1000)} s: reconnect failed` });
    }

    const changes: AlertChange[] = [];
    for (const [id, a] of current) if (!this.firing.has(id)) {
      const change: AlertChange = { ...a, state: 'firing' };
      this.firing.set(id, change);
      changes.push(change);
    }
    for (const [id, was] of [...this.firing]) if (!current.has(id)) {
      this.firing.delete(id);
      changes.push({ ...was, state: 'resolved', summary: `resolved: ${was.summary}` });
    }
    return changes;
  }

  /** Rules firing now. */
  active(): AlertChange[] {
    return [...this.firing.values()];
  }

  private within<T>(xs: Stamped<T>[], now: number, windowMs: number): T[] {
    const from = now - windowMs;
    const out: T[] = [];
    for (const x of xs) if (x.at > from) out.push(x.v);
    return out;
  }

  private prune(now: number): void {
    const from = now - this.longest;
    if (this.tasks.length && this.tasks[0].at <= from) this.tasks = this.tasks.filter((t) => t.at > from);
    if (this.attempts.length && this.attempts[0].at <= from) this.attempts = this.attempts.filter((t) => t.at > from);
    if (this.reconnects.length && this.reconnects[0] <= from) this.reconnects = this.reconnects.filter((t) => t > from);
  }
}
