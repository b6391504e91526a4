/**
 * Per-service circuit breakers (cockatiel) for the external services activities call: artifact store, dataset and
 * model downloads, anything a task declares. An open breaker fails fast with ServiceUnavailableError, whose
 * retryAfterMs is the time until the breaker half-opens, so the activity can hand Temporal an exact nextRetryDelay.
 */
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  IBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel';
import { BreakerConfig, BreakerConfigInput, BreakerSettings, settingsFor } from './config';
import { errorMessage, fetchErrorMessage, isTimeout } from './fetch-error';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';
const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** The category an activity reports for a refused call: the service is unreachable, as with a refused connection. */
export const SERVICE_UNAVAILABLE_CATEGORY = 'NETWORK_CONNECTION_ERROR';

/** Thrown without calling the service while its breaker is open or its half-open probe is in flight. */
export class ServiceUnavailableError extends Error {
  readonly category = SERVICE_UNAVAILABLE_CATEGORY;
  constructor(
    readonly service: string,
    /** Time until the breaker lets a call through again; use it as the activity's nextRetryDelay. */
    readonly retryAfterMs: number,
    readonly state: BreakerState,
    /** What made the breaker open, for the error report. */
    readonly lastFailure?: string,
  ) {
    super(
      `service "${service}" is unavailable (circuit breaker ${state}; next try in ${retryAfterMs} ms)` +
        (lastFailure ? `: last failure: ${lastFailure}` : ''),
    );
    this.name = 'ServiceUnavailableError';
  }
}

export interface StateChangeInfo {
  /** When the breaker opened (epoch ms), while it is open. */
  openedAt?: number;
  /** Time until half-open, when it just opened. */
  retryAfterMs?: number;
  /** Message of the failure that opened it. */
  lastFailure?: string;
}

export interface ServiceBreakersOptions {
  onStateChange?(service: string, state: BreakerState, info: StateChangeInfo): void;
}

interface Entry {
  policy: CircuitBreakerPolicy;
  settings: BreakerSettings;
  openedAt?: number;
  lastFailure?: string;
}

/** Table: which cockatiel breaker a service's settings pick. */
function breakerFor(s: BreakerSettings): IBreaker {
  return s.sampling
    ? new SamplingBreaker({ threshold: s.sampling.threshold, duration: s.sampling.durationMs, minimumRps: s.sampling.minimumRps })
    : new ConsecutiveBreaker(s.consecutiveFailures);
}

/**
 * One breaker per service name, made on first use. The clock is Date.now because cockatiel decides half-open with
 * Date.now; a second clock here would let retryAfterMs disagree with the breaker (tests fake Date with jest timers).
 */
export class ServiceBreakers {
  readonly config: BreakerConfig;
  private readonly entries = new Map<string, Entry>();

  constructor(config: BreakerConfigInput = {}, private readonly opts: ServiceBreakersOptions = {}) {
    this.config = BreakerConfig.parse(config);
  }

  private entry(service: string): Entry {
    const existing = this.entries.get(service);
    if (existing) return existing;
    const settings = settingsFor(this.config, service);
    const policy = circuitBreaker(handleAll, { halfOpenAfter: settings.halfOpenAfterMs, breaker: breakerFor(settings) });
    const e: Entry = { policy, settings };
    policy.onBreak((reason) => {
      e.openedAt = Date.now();
      e.lastFailure = 'error' in reason ? errorMessage(reason.error) : 'isolated' in reason ? 'isolated by an operator' : undefined;
    });
    policy.onStateChange((state) => {
      const name = STATE_NAMES[state];
      this.opts.onStateChange?.(
        service,
        name,
        name === 'open' ? { openedAt: e.openedAt, retryAfterMs: settings.halfOpenAfterMs, lastFailure: e.lastFailure } : { lastFailure: e.lastFailure },
      );
    });
    this.entries.set(service, e);
    return e;
  }

  /** Runs `fn` through the service's breaker; any rejection counts as a failure of the service. */
  async call<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const e = this.entry(service);
    const state = e.policy.state;
    // Cockatiel makes concurrent callers wait for the half-open probe (which may be a long download); refuse them
    // instead so that the activity backs off through Temporal rather than holding a slot.
    if (state === CircuitState.HalfOpen) {
      throw new ServiceUnavailableError(service, e.settings.halfOpenRetryMs, 'half-open', e.lastFailure);
    }
    try {
      return await e.policy.execute(() => fn());
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new ServiceUnavailableError(service, this.retryAfterMs(service), STATE_NAMES[e.policy.state], e.lastFailure);
      }
      throw err;
    }
  }

  state(service: string): BreakerState {
    return STATE_NAMES[this.entry(service).policy.state];
  }

  /** Time until the breaker lets a call through: 0 when closed or due to half-open. */
  retryAfterMs(service: string): number {
    const e = this.entry(service);
    const state = e.policy.state;
    if (state === CircuitState.HalfOpen) return e.settings.halfOpenRetryMs;
    if (state !== CircuitState.Open || e.openedAt === undefined) return 0;
    return Math.max(0, e.openedAt + e.settings.halfOpenAfterMs - Date.now());
  }

  /** Every service seen so far and its breaker state (for status output). */
  snapshot(): Record<string, BreakerState> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, STATE_NAMES[e.policy.state]]));
  }

  /**
   * Health probe of a declared service, through its breaker: resolves when the service answers below 500 (a 4xx
   * means it is up but the URL or credentials are wrong, not an outage); a refused connection, a timeout or a 5xx
   * is a failure and counts towards opening the breaker.
   */
  checkService(service: string, url: string, timeoutMs = 5_000, method: 'GET' | 'HEAD' = 'GET'): Promise<ServiceProbe> {
    return this.call(service, () => probe(service, url, timeoutMs, method));
  }
}

export interface ServiceProbe {
  service: string;
  status: number;
  latencyMs: number;
}

/** A failed probe; `category` is what the activity reports if it gives up on the service. */
export class ServiceProbeError extends Error {
  constructor(
    readonly service: string,
    readonly category: 'NETWORK_CONNECTION_ERROR' | 'NETWORK_TIMEOUT_ERROR',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ServiceProbeError';
  }
}

async function probe(service: string, url: string, timeoutMs: number, method: 'GET' | 'HEAD'): Promise<ServiceProbe> {
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const timedOut = isTimeout(err);
    throw new ServiceProbeError(
      service,
      timedOut ? 'NETWORK_TIMEOUT_ERROR' : 'NETWORK_CONNECTION_ERROR',
      timedOut ? `${service}: no answer within ${timeoutMs} ms` : `${service}: ${fetchErrorMessage(err)}`,
    );
  }
  // Free the socket: only the status matters.
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 500) {
    throw new ServiceProbeError(service, 'NETWORK_CONNECTION_ERROR', `${service}: answered ${res.status} ${res.statusText}`, res.status);
  }
  return { service, status: res.status, latencyMs: Math.round(performance.now() - started) };
}
