/** The pure decisions behind the workflow's message handlers and retries, as tables. */
import { DEFAULT_POLICIES } from '../../src/domain/policies';
import { TaskState, attemptSummary, canMove, currentDetailsOf, initialTaskState, placementsUsed, reportFailureEffect, retryDecision } from '../../src/domain/task-state';
import { TestTaskSpec } from '../../src/domain/task-spec';

const spec = TestTaskSpec.parse({ name: 't', command: ['x'] });
const state = (over: Partial<TaskState>): TaskState => ({ ...initialTaskState(spec, 'b', 0), ...over });
const onCpu = { hwClass: 'cpu' as const, queue: 'dtf-cpu' };
const onHost = (hostId: string) => ({ hwClass: 'cpu' as const, queue: `dtf-host-${hostId}`, hostId });

describe('canMove: operator moves are taken while the task can still run', () => {
  it.each([
    ['queued', true],
    ['running', true],
    ['retrying', true],
    ['passed', false],
    ['failed', false],
    ['dead_lettered', false],
    ['cancelled', false],
  ] as const)('%s → %s', (status, ok) => {
    const verdict = canMove(state({ status }));
    expect(verdict.ok).toBe(ok);
    if (!verdict.ok) expect(verdict.reason).toBe(`the task is ${status}`);
  });
});

describe('reportFailureEffect: the right attempt moves', () => {
  it.each([
    // [what, state, reported host, attempt in flight, expected]
    ['the running host is reported', { status: 'running', placements: [onCpu], currentHost: 'a' }, 'a', true, { exclude: 'a', move: true }],
    ['no host named: the running one', { status: 'running', placements: [onCpu], currentHost: 'a' }, undefined, true, { exclude: 'a', move: true }],
    ['another host: only excluded', { status: 'running', placements: [onCpu], currentHost: 'a' }, 'b', true, { exclude: 'b', move: false }],
    ['between attempts, next one pinned to that host', { status: 'retrying', placements: [onHost('a')], currentHost: 'a' }, 'a', false, { exclude: 'a', move: true }],
    ['between attempts on the class queue: excluded for later', { status: 'retrying', placements: [onCpu], currentHost: 'a' }, 'a', false, { exclude: 'a', move: false }],
    ['a settled task: recorded, nothing moves', { status: 'passed', placements: [onCpu], currentHost: 'a' }, 'a', false, { exclude: 'a', move: false }],
  ] as const)('%s', (_what, over, host, inFlight, expected) => {
    expect(reportFailureEffect(state(over as unknown as Partial<TaskState>), host, inFlight)).toEqual(expected);
  });
});

describe('retryDecision: one retry layer', () => {
  const crash = { category: 'WORKER_CRASH_ERROR', kind: 'resource' as const, rule: 'heartbeat-timeout' };
  const net = { category: 'NETWORK_CONNECTION_ERROR', kind: 'transient' as const, rule: 'econnrefused' };
  it('a heartbeat timeout follows WORKER_CRASH_ERROR: one attempt in place, so the next goes elsewhere', () => {
    expect(retryDecision(crash, DEFAULT_POLICIES.WORKER_CRASH_ERROR, 1, undefined, () => 0.5)).toEqual({ retryInPlace: false, delayMs: 0 });
  });
  it('a task that allows more crash retries in place gets them, with the backoff', () => {
    const policy = { ...DEFAULT_POLICIES.WORKER_CRASH_ERROR, maxAttemptsInPlace: 3 };
    expect(retryDecision(crash, policy, 1, undefined, () => 0.5)).toEqual({ retryInPlace: true, delayMs: 1000 });
    expect(retryDecision(crash, policy, 3, undefined, () => 0.5).retryInPlace).toBe(false);
  });
  it("the activity's own decision (made with the deployment's policies) wins", () => {
    expect(retryDecision(net, DEFAULT_POLICIES.NETWORK_CONNECTION_ERROR, 1, { retryInPlace: false, delayMs: 0 }, () => 0.5)).toEqual({ retryInPlace: false, delayMs: 0 });
  });
});

describe('placementsUsed counts the current run only (a redrive starts afresh)', () => {
  it('after a redrive', () => {
    expect(placementsUsed(state({ placements: [onCpu, onCpu, onCpu], runStart: 2 }))).toBe(1);
  });
});

describe('what the Web UI shows for a task and its attempts', () => {
  it('an attempt names its number and where it may run', () => {
    expect(attemptSummary(2, onCpu)).toBe('attempt 2 on dtf-cpu (any eligible host)');
    expect(attemptSummary(3, { ...onCpu, queue: 'dtf-host-gpu-7', hostId: 'gpu-7' })).toBe('attempt 3 on host gpu-7 (dtf-host-gpu-7)');
  });
  it('a dead-lettered task shows its last error and what an operator can do', () => {
    const details = currentDetailsOf(state({ status: 'dead_lettered', attempts: 2, placements: [onCpu], currentHost: 'cpu-1', lastFailure: { category: 'TEST_DEPENDENCY_ERROR', exitCode: 1, outputTail: '', message: "No module named 'torchx'\nmore" } }));
    expect(details).toContain('**dead_lettered**');
    expect(details).toContain('host cpu-1');
    expect(details).toContain("last error: TEST_DEPENDENCY_ERROR: No module named 'torchx'");
    expect(details).not.toContain('more');
    expect(details).toContain('dtf dlq redrive');
  });
  it('a waiting task says why; a passed one shows no stale error', () => {
    expect(currentDetailsOf(state({ status: 'queued', placements: [onCpu], waitingReason: 'waiting: no live host serves dtf-cpu' }))).toContain('waiting: no live host');
    const passed = currentDetailsOf(state({ status: 'passed', placements: [onCpu], lastFailure: { category: 'NETWORK_TIMEOUT_ERROR', exitCode: null, outputTail: '', message: 'timed out' } }));
    expect(passed).not.toContain('last error');
  });
});
