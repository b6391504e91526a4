import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_QUARANTINE_CATEGORIES, QuarantineConfig } from '../../src/resilience/config';
import { HostQuarantine, QuarantineEvent, createQuarantineGate } from '../../src/resilience/host-quarantine';

const MIN = 60_000;

function setup(config: ConstructorParameters<typeof HostQuarantine>[0] = {}) {
  let t = 0;
  const events: QuarantineEvent[] = [];
  const q = new HostQuarantine(config, () => t, (e) => events.push(e));
  return { q, events, advance: (ms: number) => (t += ms) };
}

describe('HostQuarantine', () => {
  it('defaults: 3 host errors in 10 min, 5 min cool-down, hardware and crash categories', () => {
    expect(QuarantineConfig.parse({})).toMatchObject({ threshold: 3, windowMs: 10 * MIN, cooldownMs: 5 * MIN });
    expect([...DEFAULT_QUARANTINE_CATEGORIES].sort()).toEqual([
      'HARDWARE_AVAILABILITY_ERROR',
      'HARDWARE_CAPABILITY_ERROR',
      'HARDWARE_PERFORMANCE_ERROR',
      'WORKER_CRASH_ERROR',
    ]);
  });

  it('quarantines on the threshold-th host error within the window', () => {
    const { q, events } = setup();
    expect(q.recordFailure('WORKER_CRASH_ERROR')).toEqual({ quarantined: false });
    expect(q.recordFailure('HARDWARE_PERFORMANCE_ERROR')).toEqual({ quarantined: false });
    const verdict = q.recordFailure('HARDWARE_AVAILABILITY_ERROR');
    expect(verdict.quarantined).toBe(true);
    expect(verdict.reason).toMatch(/3 host errors within 10 min/);
    expect(q.state()).toBe('quarantined');
    expect(q.shouldAcceptClassWork()).toBe(false);
    expect(events).toEqual([expect.objectContaining({ type: 'quarantined', failures: 3, until: 5 * MIN })]);
  });

  it('errors that are not the host\'s fault never count', () => {
    const { q } = setup({ threshold: 1 });
    for (const c of ['TEST_EXECUTION_ERROR', 'NETWORK_CONNECTION_ERROR', 'RESOURCE_ALLOCATION_ERROR']) q.recordFailure(c);
    expect(q.recordFailure('HARDWARE_CAPABILITY_ERROR', 'host-does-not-meet-requirement').quarantined).toBe(false);
    expect(q.state()).toBe('healthy');
  });

  it('errors older than the window drop out', () => {
    const { q, advance } = setup();
    q.recordFailure('WORKER_CRASH_ERROR');
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(10 * MIN);
    expect(q.recordFailure('WORKER_CRASH_ERROR').quarantined).toBe(false);
  });

  it('after the cool-down it half-opens and admits exactly one task; its success makes the host healthy', () => {
    const { q, events, advance } = setup({ threshold: 1 });
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN - 1);
    expect(q.state()).toBe('quarantined');
    advance(1);
    expect(q.state()).toBe('half-open');
    expect(q.shouldAcceptClassWork()).toBe(true);
    expect(q.shouldAcceptClassWork()).toBe(false);
    expect(q.shouldAcceptClassWork()).toBe(false);
    advance(1_000);
    q.recordSuccess();
    expect(q.state()).toBe('healthy');
    expect(q.shouldAcceptClassWork()).toBe(true);
    expect(q.shouldAcceptClassWork()).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['quarantined', 'half-open', 'recovered']);
    expect(events[2]).toMatchObject({ quarantinedForMs: 5 * MIN + 1_000 });
  });

  it('a host error on the trial task quarantines it again for a full cool-down', () => {
    const { q, advance } = setup({ threshold: 2 });
    q.recordFailure('WORKER_CRASH_ERROR');
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN);
    expect(q.shouldAcceptClassWork()).toBe(true);
    const verdict = q.recordFailure('HARDWARE_AVAILABILITY_ERROR');
    expect(verdict).toMatchObject({ quarantined: true, reason: expect.stringMatching(/task admitted after the cool-down/) });
    expect(q.state()).toBe('quarantined');
    expect(q.remainingCooldownMs()).toBe(5 * MIN);
  });

  it('a trial task whose own test fails still clears the host: it ran', () => {
    const { q, advance } = setup({ threshold: 1 });
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN);
    q.shouldAcceptClassWork();
    q.recordFailure('TEST_EXECUTION_ERROR');
    expect(q.state()).toBe('healthy');
  });

  it('a trial task that ends without a verdict frees the trial for another', () => {
    const { q, advance } = setup({ threshold: 1 });
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN);
    expect(q.shouldAcceptClassWork()).toBe(true);
    q.releaseProbe();
    expect(q.state()).toBe('half-open');
    expect(q.shouldAcceptClassWork()).toBe(true);
  });
});

describe('createQuarantineGate', () => {
  const gateFor = (q: HostQuarantine) => createQuarantineGate(q, { hostId: 'gpu-07', gpuMemoryGb: 24, isExempt: (ctx) => ctx.taskQueue === 'dtf-host-gpu-07' });
  const classTask = { taskQueue: 'dtf-cuda-24gb', attempt: 1 };

  it('lets class work through while healthy', () => {
    const { q } = setup();
    expect(() => gateFor(q).beforeClassTask(classTask)).not.toThrow();
  });

  it('refuses class work while quarantined with a non-retryable, host-attributed failure the workflow re-places', () => {
    const { q } = setup({ threshold: 1 });
    q.recordFailure('HARDWARE_PERFORMANCE_ERROR');
    let err: unknown;
    try {
      gateFor(q).beforeClassTask(classTask);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.type).toBe('HARDWARE_AVAILABILITY_ERROR');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/host gpu-07 is quarantined for 300 s more/);
    expect(f.details?.[1]).toMatchObject({ hostId: 'gpu-07', rule: 'host-quarantined', kind: 'resource', retryInPlace: false });
  });

  it('keeps the host queue served while quarantined, so cleanups finish', () => {
    const { q } = setup({ threshold: 1 });
    q.recordFailure('WORKER_CRASH_ERROR');
    expect(() => gateFor(q).beforeClassTask({ taskQueue: 'dtf-host-gpu-07', attempt: 1 })).not.toThrow();
  });

  it('guard records outcomes: host-error failures quarantine, the gate\'s own refusals do not count', async () => {
    const { q } = setup({ threshold: 2 });
    const gate = gateFor(q);
    const hwFail = () => Promise.reject(ApplicationFailure.create({ type: 'HARDWARE_AVAILABILITY_ERROR', details: [undefined, { rule: 'cuda-no-device' }] }));
    await expect(gate.guard(classTask, hwFail)).rejects.toThrow();
    await expect(gate.guard(classTask, hwFail)).rejects.toThrow();
    expect(q.state()).toBe('quarantined');
    for (let i = 0; i < 5; i += 1) await expect(gate.guard(classTask, () => Promise.resolve(1))).rejects.toMatchObject({ type: 'HARDWARE_AVAILABILITY_ERROR' });
    expect(q.remainingCooldownMs()).toBe(5 * MIN);
  });

  it('guard: the trial task after the cool-down decides, and a second concurrent one is refused', async () => {
    const { q, advance } = setup({ threshold: 1 });
    const gate = gateFor(q);
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN);
    let finish!: () => void;
    const trial = gate.guard(classTask, () => new Promise<string>((r) => (finish = () => r('passed'))));
    await expect(gate.guard(classTask, () => Promise.resolve('x'))).rejects.toMatchObject({ message: expect.stringMatching(/one trial task/) });
    finish();
    await expect(trial).resolves.toBe('passed');
    expect(q.state()).toBe('healthy');
  });

  it('guard: a cancelled trial task frees the trial', async () => {
    const { q, advance } = setup({ threshold: 1 });
    const gate = gateFor(q);
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(5 * MIN);
    await expect(gate.guard(classTask, () => Promise.reject(new Error('cancelled')))).rejects.toThrow('cancelled');
    expect(q.shouldAcceptClassWork()).toBe(true);
  });
});
