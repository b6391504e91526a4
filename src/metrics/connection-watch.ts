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
  /** The check call still out, resolving to its error ('' when it passed). */
  private inflight: Promise<string> | undefined;

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

  /**
   * One check now (the timer calls it; tests may too). The SDK's client retries a call to an unreachable server
   * for a while on its own, so a check gets timeoutMs and no more; while the call it started is still out, the
   * next checks fail without starting another.
   */
  async checkOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = this.opts.now ?? Date.now;
    const timeoutMs = this.opts.timeoutMs ?? Math.min(5_000, Math.max(1_000, this.opts.intervalMs));
    let error = '';
    if (!this.inflight) {
      this.inflight = this.opts.check(timeoutMs).then(
        () => '',
        (err: unknown) => (err as Error)?.message ?? String(err),
      );
      const call = this.inflight;
      void call.finally(() => {
        if (this.inflight === call) this.inflight = undefined;
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    error = await Promise.race([this.inflight, timedOut]);
    clearTimeout(timer);
    const ok = error === '';
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
