import { DEFAULT_POLICIES, backoffDelayMs, inPlaceDecision, policyFor } from '../../src/domain/policies';
import { MAX_PLACEMENTS, PlacementState, decideRecovery, initialPlacement, parseReassignTarget, pickHost } from '../../src/domain/placement';
import { ERROR_CATEGORIES } from '../../src/domain/categories';
import { TestTaskSpec } from '../../src/domain/task-spec';

const spec = (hardware: object = {}, extra: object = {}) => TestTaskSpec.parse({ name: 't', command: ['x'], hardware, ...extra });
const state = (over: Partial<PlacementState> = {}): PlacementState => ({
  current: { hwClass: 'cuda', queue: 'dtf-cuda-8gb', tierGb: 8 },
  placementsUsed: 1,
  excludedHosts: [],
  triedClasses: ['cuda'],
  ...over,
});

describe('retry policies', () => {
  test('every built-in category has a policy', () => {
    for (const c of ERROR_CATEGORIES) expect(DEFAULT_POLICIES[c]).toBeDefined();
  });

  test('backoff grows exponentially, is capped, and jitter stays within ±jitter', () => {
    const p = { ...DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR, jitter: 0 };
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(p, a))).toEqual([1000, 2000, 4000, 8000, 30000]);
    const j = DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR; // 0.3
    expect(backoffDelayMs(j, 1, () => 0)).toBe(700);
    expect(backoffDelayMs(j, 1, () => 1)).toBe(1300);
  });

  test('in place: retry while attempts remain; never for validation or permanent kinds', () => {
    const p = DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR; // 5 attempts
    expect(inPlaceDecision(p, 'transient', 1, () => 0.5)).toEqual({ retryInPlace: true, delayMs: 1000 });
    expect(inPlaceDecision(p, 'transient', 5).retryInPlace).toBe(false);
    expect(inPlaceDecision(p, 'validation', 1).retryInPlace).toBe(false);
    expect(inPlaceDecision(p, 'permanent', 1).retryInPlace).toBe(false);
  });

  test('deployment overrides the defaults and the task overrides the deployment', () => {
    const p = policyFor('NETWORK_CONNECTION_ERROR', 'transient', { NETWORK_CONNECTION_ERROR: { maxAttemptsInPlace: 9, initialDelayMs: 5 } }, { NETWORK_CONNECTION_ERROR: { maxAttemptsInPlace: 2 } });
    expect(p).toMatchObject({ maxAttemptsInPlace: 2, initialDelayMs: 5, then: 'relocate' });
    expect(policyFor('MY_CUSTOM_ERROR', 'validation').then).toBe('fail');
  });
});

describe('placement decisions', () => {
  test('initial placement picks the smallest covering tier, the CPU queue, or a pinned host', () => {
    expect(initialPlacement(spec({ class: 'cuda', minGpuMemoryGb: 12 }))).toEqual({ ok: true, placement: { hwClass: 'cuda', queue: 'dtf-cuda-16gb', tierGb: 16 } });
    expect(initialPlacement(spec())).toEqual({ ok: true, placement: { hwClass: 'cpu', queue: 'dtf-cpu' } });
    expect(initialPlacement(spec({}, { host: 'gpu-07' }))).toEqual({ ok: true, placement: { hwClass: 'cpu', queue: 'dtf-host-gpu-07', hostId: 'gpu-07', pinned: true } });
    expect(initialPlacement(spec({ class: 'cuda', minGpuMemoryGb: 500 }))).toMatchObject({ ok: false });
  });

  const facts = (category: string, kind: 'transient' | 'resource' | 'validation' | 'permanent', rule = 'r', hostId = 'h1', extra = {}) => ({ category, kind, rule, hostId, ...extra });

  test('a test failure is recorded, not retried', () => {
    expect(decideRecovery(facts('TEST_EXECUTION_ERROR', 'validation'), DEFAULT_POLICIES.TEST_EXECUTION_ERROR, state(), spec()).action).toBe('record-test-failure');
  });

  test('configuration errors and permanent crashes fail fast', () => {
    expect(decideRecovery(facts('TEST_CONFIGURATION_ERROR', 'validation'), DEFAULT_POLICIES.TEST_CONFIGURATION_ERROR, state(), spec()).action).toBe('fail');
    expect(decideRecovery(facts('WORKER_CRASH_ERROR', 'permanent', 'segfault'), DEFAULT_POLICIES.WORKER_CRASH_ERROR, state(), spec()).action).toBe('fail');
  });

  test('a GPU OOM on an 8 GB host moves to the 16 GB tier and never back to that host', () => {
    const step = decideRecovery(facts('RESOURCE_ALLOCATION_ERROR', 'resource', 'gpu-oom-pytorch', 'gpu-8', { hostGpuMemoryGb: 8 }), DEFAULT_POLICIES.RESOURCE_ALLOCATION_ERROR, state(), spec({ class: 'cuda' }));
    expect(step).toMatchObject({ action: 'move', to: { queue: 'dtf-cuda-16gb', tierGb: 16 } });
  });

  test('a host-attributed error looks for another host and excludes this one', () => {
    const step = decideRecovery(facts('HARDWARE_PERFORMANCE_ERROR', 'resource', 'xid', 'gpu-8'), DEFAULT_POLICIES.HARDWARE_PERFORMANCE_ERROR, state(), spec({ class: 'cuda' }));
    expect(step).toMatchObject({ action: 'find-host', queue: 'dtf-cuda-8gb', excludeHost: 'gpu-8' });
    const net = decideRecovery(facts('NETWORK_CONNECTION_ERROR', 'transient'), DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR, state(), spec({ class: 'cuda' }));
    expect(net).toMatchObject({ action: 'find-host' });
    expect((net as { excludeHost?: string }).excludeHost).toBeUndefined();
  });

  test('nobody picked it up: fall back to an allowed class, else fail saying why', () => {
    const f = facts('HARDWARE_AVAILABILITY_ERROR', 'resource', 'schedule-to-start-timeout', undefined as unknown as string, { notPickedUp: true });
    expect(decideRecovery(f, DEFAULT_POLICIES.HARDWARE_AVAILABILITY_ERROR, state(), spec({ class: 'cuda', fallback: ['cpu'] }))).toMatchObject({ action: 'move', to: { queue: 'dtf-cpu' } });
    const end = decideRecovery(f, DEFAULT_POLICIES.HARDWARE_AVAILABILITY_ERROR, state(), spec({ class: 'cuda' }));
    expect(end).toMatchObject({ action: 'fail' });
    expect((end as { reason: string }).reason).toMatch(/allows no fallback class/);
    const tried = decideRecovery(f, DEFAULT_POLICIES.HARDWARE_AVAILABILITY_ERROR, state({ triedClasses: ['cuda', 'cpu'] }), spec({ class: 'cuda', fallback: ['cpu'] }));
    expect((tried as { reason: string }).reason).toMatch(/fallback cpu already tried/);
  });

  test('a host we moved the task to that does not pick it up is excluded, and another host is looked for', () => {
    const f = facts('HARDWARE_AVAILABILITY_ERROR', 'resource', 'schedule-to-start-timeout', 'gone', { notPickedUp: true });
    const step = decideRecovery(f, DEFAULT_POLICIES.HARDWARE_AVAILABILITY_ERROR, state({ current: { hwClass: 'cpu', queue: 'dtf-host-gone', hostId: 'gone' } }), spec());
    expect(step).toMatchObject({ action: 'find-host', queue: 'dtf-cpu', excludeHost: 'gone' });
    // A task pinned to a host by its spec has nowhere else to go in its class.
    const pinned = decideRecovery(f, DEFAULT_POLICIES.HARDWARE_AVAILABILITY_ERROR, state({ current: { hwClass: 'cpu', queue: 'dtf-host-gone', hostId: 'gone' } }), spec({}, { host: 'gone' }));
    expect(pinned).toMatchObject({ action: 'fail' });
  });

  test('placements are bounded', () => {
    const step = decideRecovery(facts('NETWORK_CONNECTION_ERROR', 'transient'), DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR, state({ placementsUsed: MAX_PLACEMENTS }), spec());
    expect(step).toMatchObject({ action: 'fail' });
  });

  test('pickHost skips excluded hosts and hosts below the compute capability, and prefers the one seen last', () => {
    const hosts = [
      { hostId: 'b', gpuMemoryGb: 24, computeCapability: 8.9, lastSeenMs: 3000 },
      { hostId: 'a', gpuMemoryGb: 24, computeCapability: 7.5, lastSeenMs: 1000 },
      { hostId: 'c', gpuMemoryGb: 24, computeCapability: 9.0, lastSeenMs: 2000 },
    ];
    expect(pickHost(hosts, ['b'], spec({ class: 'cuda', minComputeCapability: 8 }))?.hostId).toBe('c');
    expect(pickHost(hosts, [], spec({ class: 'cuda' }))?.hostId).toBe('b');
    expect(pickHost(hosts.map((h) => ({ ...h, lastSeenMs: undefined })), [], spec({ class: 'cuda' }))?.hostId).toBe('a');
    expect(pickHost(hosts, ['a', 'b', 'c'], spec({ class: 'cuda' }))).toBeUndefined();
  });

  test('reassign targets: classes, tiers, hosts; ineligible and unknown ones are rejected', () => {
    const cudaTask = spec({ class: 'cuda', minGpuMemoryGb: 16, fallback: ['cpu'] });
    expect(parseReassignTarget('cpu', cudaTask, 'cuda')).toMatchObject({ ok: true, placement: { queue: 'dtf-cpu' } });
    expect(parseReassignTarget('dtf-cuda-24gb', cudaTask, 'cuda')).toMatchObject({ ok: true, placement: { tierGb: 24 } });
    expect(parseReassignTarget('gpu-07', cudaTask, 'cuda')).toMatchObject({ ok: true, placement: { queue: 'dtf-host-gpu-07', hostId: 'gpu-07' } });
    expect(parseReassignTarget('dtf-host-gpu-07', cudaTask, 'cuda')).toMatchObject({ ok: true, placement: { hostId: 'gpu-07' } });
    expect(parseReassignTarget('dtf-cuda-8gb', cudaTask, 'cuda')).toMatchObject({ ok: false, reason: expect.stringMatching(/too small/) });
    expect(parseReassignTarget('dtf-cuda-7gb', cudaTask, 'cuda')).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown queue/) });
    expect(parseReassignTarget('cuda', spec(), 'cpu')).toMatchObject({ ok: false, reason: expect.stringMatching(/not allowed/) });
    expect(parseReassignTarget('dtf-bogus', spec(), 'cpu')).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown target/) });
  });
});
