import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakerConfig, DeclaredService, settingsFor } from '../../src/resilience/config';
import { BreakerState, ServiceBreakers, ServiceProbeError, ServiceUnavailableError } from '../../src/resilience/service-breakers';

const boom = () => Promise.reject(new Error('connect ECONNREFUSED'));
const ok = () => Promise.resolve('ok');

async function failTimes(b: ServiceBreakers, service: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await expect(b.call(service, boom)).rejects.toThrow('ECONNREFUSED');
}

describe('config', () => {
  it('has working defaults and applies per-service overrides field by field', () => {
    const c = BreakerConfig.parse({ services: { datasets: { halfOpenAfterMs: 5_000 } } });
    expect(settingsFor(c, 'artifact-store')).toMatchObject({ consecutiveFailures: 3, halfOpenAfterMs: 30_000 });
    expect(settingsFor(c, 'datasets')).toMatchObject({ consecutiveFailures: 3, halfOpenAfterMs: 5_000 });
  });

  it('rejects unknown fields and bad values', () => {
    expect(BreakerConfig.safeParse({ consecutiveFailure: 3 }).success).toBe(false);
    expect(BreakerConfig.safeParse({ consecutiveFailures: 0 }).success).toBe(false);
    expect(BreakerConfig.safeParse({ services: { 'bad name!': {} } }).success).toBe(false);
  });

  it('a declared service needs a name and an http(s) health URL', () => {
    expect(DeclaredService.parse({ name: 'artifact-store', url: 'http://127.0.0.1:9000/health' })).toEqual({
      name: 'artifact-store',
      url: 'http://127.0.0.1:9000/health',
      timeoutMs: 5_000,
    });
    expect(DeclaredService.safeParse({ name: 'store', url: 'ftp://127.0.0.1/x' }).success).toBe(false);
  });
});

describe('ServiceBreakers (clock faked)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('opens after N consecutive failures, not before', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 3 });
    await failTimes(b, 'store', 2);
    expect(b.state('store')).toBe('closed');
    await failTimes(b, 'store', 1);
    expect(b.state('store')).toBe('open');
  });

  it('a success in between resets the consecutive count', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 3 });
    await failTimes(b, 'store', 2);
    await b.call('store', ok);
    await failTimes(b, 'store', 2);
    expect(b.state('store')).toBe('closed');
  });

  it('open: fails fast without calling the service, with the time until half-open', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 2, halfOpenAfterMs: 30_000 });
    await failTimes(b, 'store', 2);
    jest.setSystemTime(Date.now() + 12_000);
    const fn = jest.fn(ok);
    const err = await b.call('store', fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err).toMatchObject({ service: 'store', retryAfterMs: 18_000, state: 'open', category: 'NETWORK_CONNECTION_ERROR' });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('half-open after the delay admits one call and refuses the others while it runs; success closes', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 1, halfOpenAfterMs: 10_000, halfOpenRetryMs: 500 });
    await failTimes(b, 'store', 1);
    jest.setSystemTime(Date.now() + 10_000);
    let finish!: (v: string) => void;
    const probe = b.call('store', () => new Promise<string>((r) => (finish = r)));
    expect(b.state('store')).toBe('half-open');
    await expect(b.call('store', ok)).rejects.toMatchObject({ name: 'ServiceUnavailableError', retryAfterMs: 500, state: 'half-open' });
    finish('probe ok');
    await expect(probe).resolves.toBe('probe ok');
    expect(b.state('store')).toBe('closed');
    await expect(b.call('store', ok)).resolves.toBe('ok');
  });

  it('a failed half-open probe opens the breaker again for a full delay', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 1, halfOpenAfterMs: 10_000 });
    await failTimes(b, 'store', 1);
    jest.setSystemTime(Date.now() + 10_000);
    await failTimes(b, 'store', 1);
    expect(b.state('store')).toBe('open');
    expect(b.retryAfterMs('store')).toBe(10_000);
  });

  it('keeps services apart and uses each one its own settings', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 5, services: { datasets: { consecutiveFailures: 1 } } });
    await failTimes(b, 'datasets', 1);
    await failTimes(b, 'store', 4);
    expect(b.snapshot()).toEqual({ datasets: 'open', store: 'closed' });
    await expect(b.call('store', ok)).resolves.toBe('ok');
  });

  it('reports state changes with when it opened and why', async () => {
    const changes: [string, BreakerState, unknown][] = [];
    const b = new ServiceBreakers({ consecutiveFailures: 1, halfOpenAfterMs: 1_000 }, { onStateChange: (s, st, info) => changes.push([s, st, info]) });
    await failTimes(b, 'store', 1);
    jest.setSystemTime(Date.now() + 1_000);
    await b.call('store', ok);
    expect(changes).toEqual([
      ['store', 'open', { openedAt: 1_000_000, retryAfterMs: 1_000, lastFailure: 'connect ECONNREFUSED' }],
      ['store', 'half-open', expect.anything()],
      ['store', 'closed', expect.anything()],
    ]);
  });
});

describe('decision time (real clock)', () => {
  it('an open breaker decides in well under 1 ms per call', async () => {
    const b = new ServiceBreakers({ consecutiveFailures: 1 });
    await failTimes(b, 'store', 1);
    const n = 10_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i += 1) await b.call('store', ok).catch(() => undefined);
    const meanMs = Number(process.hrtime.bigint() - started) / 1e6 / n;
    console.log(`open-breaker decision: ${(meanMs * 1000).toFixed(2)} µs per call (mean of ${n})`);
    expect(meanMs).toBeLessThan(0.1);
  });
});

describe('checkService against a real local HTTP server', () => {
  let server: http.Server;
  let base: string;
  let status = 200;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000).unref();
      res.statusCode = status;
      res.end('health');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('200 passes and reports the status', async () => {
    status = 200;
    const b = new ServiceBreakers();
    await expect(b.checkService('store', `${base}/health`, 2_000)).resolves.toMatchObject({ service: 'store', status: 200 });
  });

  it('503 counts as a failure and opens the breaker after N of them', async () => {
    status = 503;
    const b = new ServiceBreakers({ consecutiveFailures: 2 });
    for (let i = 0; i < 2; i += 1) {
      await expect(b.checkService('store', `${base}/health`, 2_000)).rejects.toMatchObject({ name: 'ServiceProbeError', status: 503 });
    }
    expect(b.state('store')).toBe('open');
    await expect(b.checkService('store', `${base}/health`, 2_000)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('4xx means the service is up: no failure counted', async () => {
    status = 404;
    const b = new ServiceBreakers({ consecutiveFailures: 1 });
    await expect(b.checkService('store', `${base}/health`, 2_000)).resolves.toMatchObject({ status: 404 });
    expect(b.state('store')).toBe('closed');
  });

  it('a closed port is refused: a connection error', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const b = new ServiceBreakers({ consecutiveFailures: 1 });
    const err = await b.checkService('store', `http://127.0.0.1:${port}/health`, 2_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceProbeError);
    expect(err).toMatchObject({ category: 'NETWORK_CONNECTION_ERROR' });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(b.state('store')).toBe('open');
  });

  it('no answer within the timeout is a timeout error', async () => {
    const b = new ServiceBreakers();
    await expect(b.checkService('store', `${base}/slow`, 100)).rejects.toMatchObject({ category: 'NETWORK_TIMEOUT_ERROR' });
  });
});
