/**
 * How a worker knows it lost and regained its server: every checkIntervalMs it calls GetSystemInfo (the cheapest
 * call every Temporal server answers, Cloud included) on the worker's own connection, the one its polls use. A
 * check that fails means the connection is lost; the next that passes, reconnected (the SDK's connection retries
 * on its own; this only observes it). Still lost after alerts.reconnectFailed.afterMs: a failed reconnect.
 */
export interface ConnectionWatchEvents {
  lost(at: number, error: string): void;
  reconnected(at: number, downMs: number): void;
  /** Once per outage, when it has lasted failAfterMs. */
  reconnectFailed(at: number, downMs: number): void;
  /** After every check, e.g. to evaluate alert rules. */
  checked?(at: number, ok: boolean): void;
}

export interface ConnectionWatchOptions {
  /** One call to the server; rejects when the server cannot be reached. */
  check: (timeoutMs: number) => Promise<unknown>;
  intervalMs: number;
  failAfterMs: number;
  timeoutMs?: number;
  now?: () => number;
}

export class ConnectionWatch {
  private timer: NodeJS.Timeout | undefined;
  private downSince: number | undefined;
  private failedReported = false;
  private running = false;
  private stopped = false;

  constructor(
    private readonly opts: ConnectionWatchOptions,
    private readonly events: ConnectionWatchEvents,
  ) {}

  get connected(): boolean {
    return this.downSince === undefined;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One check now (the timer calls it; tests may too). */
  async checkOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = this.opts.now ?? Date.now;
    let ok = true;
    let error = '';
    try {
      await this.opts.check(this.opts.timeoutMs ?? Math.min(5_000, Math.max(1_000, this.opts.intervalMs)));
    } catch (err) {
      ok = false;
      error = (err as Error).message ?? String(err);
    }
    this.running = false;
    if (this.stopped) return;
    const at = now();
    if (ok && this.downSince !== undefined) {
      const downMs = at - this.downSince;
      this.downSince = undefined;
      this.failedReported = false;
      this.events.reconnected(at, downMs);
    } else if (!ok) {
      if (this.downSince === undefined) {
        this.downSince = at;
        this.events.lost(at, error);
      } else if (!this.failedReported && at - this.downSince >= this.opts.failAfterMs) {
        this.failedReported = true;
        this.events.reconnectFailed(at, at - this.downSince);
      }
    }
    this.events.checked?.(at, ok);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.checkOnce().finally(() => this.schedule()), this.opts.intervalMs);
    this.timer.unref();
  }
}
