/** The CLI views for people (dtf status, dtf logs, dtf workers): pure renderers over real-shaped dtf data. */
import { ErrorReport, hardwareStatusFrom, SystemContext } from '../../src/domain/error-report';
import { LIVE_LINES_MAX, LIVE_OUTPUT_MAX_CHARS, LiveLines, linesAfterPrinted, liveOutputOf, unseenLines } from '../../src/domain/live-output';
import type { RecoveryLogEntry, TaskProgress, TestTaskResult } from '../../src/domain/task-result';
import { initialTaskState } from '../../src/domain/task-state';
import { TestTaskSpec } from '../../src/domain/task-spec';
import { TestsSummary } from '../../src/domain/test-results';
import { artifactsOf, lastErrorOf, nextSteps, renderStatusPage, requirementText, StatusView } from '../../src/cli/views/status-page';
import { fleetRows, renderWorkers } from '../../src/cli/views/workers-table';
import { batchCancelQuery } from '../../src/cli/cancel';

const spec = TestTaskSpec.parse({ name: 'bad-config', command: ['python', 'train.py'], hardware: { class: 'cuda', minGpuMemoryGb: 24, fallback: ['cpu'] } });
const state = initialTaskState(spec, 'b-1', Date.parse('2026-12-01T10:00:00Z'));

const hotGpuHost: SystemContext = {
  cpu: { model: 'AMD EPYC', cores: 16, loadPercent: 40, temperatureC: 60 },
  memory: { totalGb: 64, usedGb: 20, usedPercent: 31 },
  disk: [{ mount: '/', totalGb: 500, availableGb: 200, usedPercent: 60 }],
  network: [],
  gpus: [{ index: 0, name: 'A10', memoryTotalGb: 24, memoryUsedGb: 23.5, utilizationPercent: 99, temperatureC: 91, simulated: false }],
  notes: [],
};

const report: ErrorReport = ErrorReport.parse({
  category: 'TEST_CONFIGURATION_ERROR',
  kind: 'validation',
  rule: 'missing-config-key',
  message: 'KeyError: learning_rate not found in config.yaml\n  at load_config',
  exitCode: 2,
  signal: null,
  outputTail: 'loading config.yaml\nKeyError: learning_rate\n',
  ids: { taskId: 'bad-config', workflowId: 'dtf-bad-config-b-1', attempt: 3, workerIdentity: 'dtf:gpu-1:gpu24:cc8.6:n1:cpu1:pid42', hostId: 'gpu-1' },
  timestamp: '2026-12-01T10:01:00.000Z',
  systemContext: hotGpuHost,
  hardwareStatus: hardwareStatusFrom(hotGpuHost),
  frequency: { lastHour: 1, last6Hours: 1, last24Hours: 1, recurring: false },
  contextCollectionMs: 120,
});

const log: RecoveryLogEntry[] = [
  { at: '2026-12-01T10:00:20.000Z', placement: 1, attempt: 1, hostId: 'gpu-1', queue: 'dtf-cuda-24gb', category: 'TEST_CONFIGURATION_ERROR', kind: 'validation', rule: 'missing-config-key', action: 'fail', reason: 'validation errors are not retried' },
  { at: '2026-12-01T10:00:21.000Z', placement: 1, queue: 'dtf-cuda-24gb', category: 'TEST_CONFIGURATION_ERROR', action: 'dead-letter', reason: 'parked in the dead letter queue: validation errors are not retried' },
];

const parked: TestTaskResult = {
  name: 'bad-config',
  workflowId: 'dtf-bad-config-b-1',
  status: 'dead_lettered',
  exitCode: 2,
  durationMs: 21_000,
  hostId: 'gpu-1',
  hwClass: 'cuda',
  queue: 'dtf-cuda-24gb',
  outputTail: Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n'),
  attempts: 1,
  placements: [{ hwClass: 'cuda', queue: 'dtf-cuda-24gb', tierGb: 24 }],
  recoveryLog: log,
  category: 'TEST_CONFIGURATION_ERROR',
  reason: 'validation errors are not retried',
  report,
};

const progress: TaskProgress = { status: 'dead_lettered', placement: parked.placements[0], placementsUsed: 1, excludedHosts: [], recoveryLog: log, parked, attempts: 1, lastFailure: { category: report.category, exitCode: 2, outputTail: report.outputTail, report, message: report.message } };

const deadLettered: StatusView = {
  workflowId: 'dtf-bad-config-b-1',
  temporalStatus: 'RUNNING',
  searchAttributes: { DtfStatus: 'dead_lettered', DtfHost: 'gpu-1', DtfRunId: 'b-1', DtfHardwareClass: 'cuda' },
  spec: { name: state.spec.name, hardware: state.spec.hardware },
  progress,
};

describe('dtf status page', () => {
  const page = renderStatusPage(deadLettered);

  it('is a readable page, not a JSON line: no line longer than 200 characters, no JSON braces of the data', () => {
    expect(page.split('\n').length).toBeGreaterThan(15);
    expect(Math.max(...page.split('\n').map((l) => l.length))).toBeLessThan(200);
    expect(page).not.toContain('"recoveryLog"');
  });

  it('names the outcome, the task, its requirement and its host', () => {
    expect(page.split('\n')[0]).toBe('dtf-bad-config-b-1: DEAD_LETTERED (Temporal: RUNNING)');
    expect(page).toContain('dead-lettered: validation errors are not retried');
    expect(page).toMatch(/requirement\s+cuda, ≥ 24 GB GPU memory, may fall back to cpu/);
    expect(page).toMatch(/host\s+gpu-1/);
  });

  it('shows the last error from its report: category, kind, rule, message excerpt, host, hardware status', () => {
    expect(page).toContain('category  TEST_CONFIGURATION_ERROR (validation), rule missing-config-key');
    expect(page).toContain('message   KeyError: learning_rate not found in config.yaml ⏎ at load_config');
    expect(page).toContain('host      gpu-1, attempt 3, exit code 2');
    expect(page).toMatch(/hardware\s+OVERHEATING, MEMORY PRESSURE/);
    expect(page).toContain('GPU 0 (A10) at 91 °C (over 85 °C)');
    expect(page).toContain('GPU 0 A10 23.5 GB of 24 GB, 99 % busy, 91 °C');
  });

  it('tables the recovery log, one row per entry under a header', () => {
    const lines = page.split('\n');
    const header = lines.findIndex((l) => /^\s+TIME\s+WHERE\s+ACTION\s+HOST\s+CATEGORY\s+DETAIL$/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^\s+10:00:20\s+p1 a1\s+fail\s+gpu-1\s+TEST_CONFIGURATION_ERROR \(missing-config-key\)\s+validation errors/);
    expect(lines[header + 2]).toMatch(/dead-letter/);
  });

  it('gives the exact redrive line first for an error in the spec, and the discard line', () => {
    const steps = nextSteps(deadLettered);
    expect(steps[0]).toMatch(/^dtf dlq redrive dtf-bad-config-b-1 --spec FIXED\.yaml/);
    expect(steps.some((s) => s.startsWith('dtf dlq discard dtf-bad-config-b-1 --reason'))).toBe(true);
    expect(page).toContain('dtf dlq redrive dtf-bad-config-b-1 --spec FIXED.yaml');
  });

  it('for a host problem, a redrive as it is comes first (the spec is fine)', () => {
    const hostReport = { ...report, category: 'HARDWARE_AVAILABILITY_ERROR', kind: 'resource', rule: 'no-eligible-host' };
    const v: StatusView = { ...deadLettered, progress: { ...progress, parked: { ...parked, report: hostReport } } };
    expect(nextSteps(v)[0]).toMatch(/^dtf dlq redrive dtf-bad-config-b-1 {3}# rerun as it is/);
  });

  it('ends with the last 15 lines of the output tail', () => {
    const lines = page.split('\n');
    expect(page).toContain('Output tail (last 15 of 40 lines kept)');
    expect(lines.at(-1)).toBe('  │ line 40');
    expect(page).not.toContain('│ line 25\n');
  });

  it('lists test counts and failing cases when the result has them', () => {
    const tests = TestsSummary.parse({ total: 12, passed: 10, failed: 1, errored: 0, skipped: 1, flaky: 0, cases: [{ id: 'test_train::test_lr', status: 'failed', message: 'assert 0.1 == 0.01', host: 'gpu-1', durationMs: 12 }, { id: 'test_x::skip', status: 'skipped', durationMs: 0 }] });
    const failed: StatusView = { workflowId: 'w', temporalStatus: 'COMPLETED', searchAttributes: {}, result: { ...parked, status: 'failed', tests } };
    const text = renderStatusPage(failed);
    expect(text).toContain('12 total, 10 passed, 1 failed, 0 errored, 1 skipped, 0 flaky');
    expect(text).toContain('failed  test_train::test_lr: assert 0.1 == 0.01');
    expect(nextSteps(failed)[0]).toMatch(/fix the test/);
  });

  it('lists artifacts when the result carries them, and reads results without them', () => {
    const withArtifacts = { ...parked, status: 'passed' as const, artifacts: [{ path: 'logs/train.log', url: 'file:///var/dtf/artifacts/x/train.log', bytes: 2048, attempt: 1, host: 'gpu-1' }] };
    const text = renderStatusPage({ workflowId: 'w', temporalStatus: 'COMPLETED', searchAttributes: {}, result: withArtifacts });
    expect(text).toMatch(/PATH\s+BYTES\s+ATTEMPT\s+HOST\s+WHERE/);
    expect(text).toMatch(/logs\/train\.log\s+2048\s+1\s+gpu-1\s+file:\/\/\/var\/dtf\/artifacts\/x\/train\.log/);
    expect(artifactsOf(parked)).toEqual([]);
    expect(artifactsOf({ artifacts: 'not a list' })).toEqual([]);
  });

  it('for a running task, shows its live output and points at dtf logs --follow and dtf cancel', () => {
    const running: StatusView = {
      workflowId: 'dtf-long-b-2',
      temporalStatus: 'RUNNING',
      searchAttributes: { DtfStatus: 'running' },
      progress: { status: 'running', placementsUsed: 1, excludedHosts: [], recoveryLog: [] },
      attempt: { state: 'started', attempt: 1, hostId: 'cpu-1', elapsedMs: 12_300, output: { from: 3, lines: ['epoch 4', 'epoch 5'] } },
    };
    const text = renderStatusPage(running);
    expect(text).toContain('running on cpu-1, attempt 1, for 12.3 s');
    expect(text).toContain('│ epoch 5');
    expect(nextSteps(running)).toEqual(expect.arrayContaining([expect.stringMatching(/^dtf logs dtf-long-b-2 --follow/), 'dtf cancel dtf-long-b-2']));
  });

  it('for a waiting task, says why and offers reassign', () => {
    const waiting: StatusView = {
      workflowId: 'w',
      temporalStatus: 'RUNNING',
      searchAttributes: { DtfStatus: 'queued' },
      progress: { status: 'queued', placementsUsed: 1, excludedHosts: [], recoveryLog: [] },
      attempt: { state: 'scheduled' },
      waiting: 'waiting: 2 eligible hosts (gpu-1, gpu-2), all busy',
    };
    expect(renderStatusPage(waiting)).toContain('queued; waiting: 2 eligible hosts (gpu-1, gpu-2), all busy');
    expect(nextSteps(waiting).some((s) => s.startsWith('dtf reassign w --to'))).toBe(true);
  });

  it('falls back to the plain fields when a report does not validate', () => {
    const v: StatusView = { ...deadLettered, progress: { ...progress, parked: { ...parked, report: { category: 'UNKNOWN_ERROR', message: 'odd' } }, lastFailure: undefined } };
    expect(lastErrorOf(v)).toMatchObject({ category: 'UNKNOWN_ERROR', message: 'odd' });
  });

  it('writes requirements people read', () => {
    expect(requirementText({ name: 'x', hardware: { class: 'cpu' } })).toBe('cpu');
    expect(requirementText({ name: 'x', hardware: { class: 'cuda', minComputeCapability: 8, gpus: 2 }, host: 'gpu-7' })).toBe('cuda, cc ≥ 8, 2 GPUs, pinned to host gpu-7');
  });
});

describe('live output in heartbeats', () => {
  it('keeps the newest lines, numbered from the start of the attempt, within its size caps', () => {
    const live = new LiveLines();
    for (let i = 0; i < 100; i += 1) live.push(`line ${i}`);
    const snap = live.snapshot();
    expect(snap.lines.length).toBe(LIVE_LINES_MAX);
    expect(snap.from).toBe(100 - LIVE_LINES_MAX);
    expect(snap.lines.at(-1)).toBe('line 99');
    const big = new LiveLines();
    for (let i = 0; i < 30; i += 1) big.push('x'.repeat(400));
    expect(big.snapshot().lines.join('\n').length).toBeLessThanOrEqual(LIVE_OUTPUT_MAX_CHARS);
    expect(big.snapshot().from + big.snapshot().lines.length).toBe(30);
  });

  it('a follower prints each line once, and says how many went by unseen', () => {
    expect(unseenLines(0, { from: 0, lines: ['a', 'b'] })).toEqual({ lines: ['a', 'b'], skipped: 0, printed: 2 });
    expect(unseenLines(2, { from: 0, lines: ['a', 'b', 'c'] })).toEqual({ lines: ['c'], skipped: 0, printed: 3 });
    expect(unseenLines(3, { from: 1, lines: ['b', 'c'] })).toEqual({ lines: [], skipped: 0, printed: 3 });
    expect(unseenLines(3, { from: 10, lines: ['k', 'l'] })).toEqual({ lines: ['k', 'l'], skipped: 7, printed: 12 });
  });

  it('the final output tail gives the lines after the last ones seen live', () => {
    expect(linesAfterPrinted(['b', 'c'], 'a\nb\nc\nd\ne\n')).toEqual(['d', 'e']);
    expect(linesAfterPrinted([], 'a\nb\n')).toEqual(['a', 'b']);
    expect(linesAfterPrinted(['c'], 'a\nb\nc\n')).toEqual([]);
    expect(linesAfterPrinted(['zz'], '')).toEqual([]);
  });

  it('reads heartbeats without output (older workers) as none', () => {
    expect(liveOutputOf({ attempt: 1, hostId: 'h', gpuMemoryGb: 0, elapsedMs: 5 })).toBeUndefined();
    expect(liveOutputOf({ output: { from: 2, lines: ['x'] } })).toEqual({ from: 2, lines: ['x'] });
  });
});

describe('dtf workers table', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const gpu = { hostId: 'gpu-1', gpuMemoryGb: 24, computeCapability: 8.6, gpuCount: 1, cpuTasks: true, pid: 42, lastSeenMs: now - 2_000 };
  const cpu = { hostId: 'cpu-1', gpuMemoryGb: 0, computeCapability: 0, gpuCount: 0, cpuTasks: true, pid: 7, lastSeenMs: now - 500 };
  const pollers = {
    'dtf-workflows': [gpu, cpu],
    'dtf-cpu': [gpu, cpu],
    'dtf-cuda-8gb': [gpu],
    'dtf-cuda-16gb': [gpu],
    'dtf-host-gpu-1': [gpu],
    'dtf-host-cpu-1': [cpu],
  };
  const beats = [
    { workerIdentity: 'dtf:gpu-1:gpu24:cc8.6:n1:cpu1:pid42', taskQueue: 'dtf-cuda-24gb', usedSlots: 1, heartbeatMs: now - 3_000 },
    { workerIdentity: 'dtf:gpu-1:gpu24:cc8.6:n1:cpu1:pid42', taskQueue: 'dtf-workflows', usedSlots: 1, heartbeatMs: now - 3_000 },
    { workerIdentity: 'dtf:cpu-1:gpu0:cc0:n0:cpu1:pid7', taskQueue: 'dtf-cpu', usedSlots: 0, heartbeatMs: now - 3_000 },
    // A dead predecessor of cpu-1: its beats do not count.
    { workerIdentity: 'dtf:cpu-1:gpu0:cc0:n0:cpu1:pid6', taskQueue: 'dtf-cpu', usedSlots: 2, heartbeatMs: now - 30_000 },
  ];
  const health = [{ hostId: 'gpu-1', pid: 42, state: 'quarantined' as const, reason: '3 host errors in 10 min', untilMs: now + 120_000, atMs: now - 1_000 }];
  const rows = fleetRows(pollers, beats, health, now);

  it('one row per live host, with hardware from its identity and the queues it polls', () => {
    expect(rows.map((r) => r.hostId)).toEqual(['cpu-1', 'gpu-1']);
    expect(rows[1]).toMatchObject({ gpuCount: 1, gpuMemoryGb: 24, polling: ['dtf-workflows', 'dtf-cpu', 'dtf-cuda-8gb', 'dtf-cuda-16gb', 'dtf-host-gpu-1'], notPolling: ['dtf-cuda-24gb'] });
  });

  it('busy slots from the worker heartbeats of the live process only, task queues only', () => {
    expect(rows[1]).toMatchObject({ busySlots: 1, busyByQueue: { 'dtf-cuda-24gb': 1 } });
    expect(rows[0]).toMatchObject({ busySlots: 0 });
  });

  it('quarantine from the fleet watch, for the same process', () => {
    expect(rows[1]).toMatchObject({ quarantine: 'quarantined', quarantineReason: '3 host errors in 10 min' });
    expect(rows[0].quarantine).toBe('none');
    expect(fleetRows(pollers, beats, [{ ...health[0], pid: 41 }], now)[1].quarantine).toBe('none');
    const unknown = fleetRows(pollers, undefined, undefined, now)[1];
    expect(unknown.quarantine).toBe('unknown');
    expect(unknown.busySlots).toBeUndefined();
  });

  it('renders a table a person reads', () => {
    const text = renderWorkers(rows, now).split('\n');
    expect(text[0]).toMatch(/^HOST\s+HARDWARE\s+POLLING\s+BUSY\s+QUARANTINE\s+SEEN$/);
    expect(text[1]).toMatch(/^cpu-1\s+CPU only\s+workflows,cpu,host\s+idle\s+no\s+0 s ago|^cpu-1\s+CPU only\s+workflows,cpu,host\s+idle\s+no\s+now/);
    expect(text[2]).toMatch(/^gpu-1\s+1 GPU 24 GB cc 8\.6\s+workflows,cpu,cuda-8gb,cuda-16gb,host \(not cuda-24gb\)\s+1 \(cuda-24gb 1\)\s+yes, 120 s left: 3 host errors in 10 min\s+2 s ago$/);
    expect(renderWorkers([], now)).toMatch(/^no live dtf workers/);
  });
});

describe('dtf cancel --batch', () => {
  it('selects the running tasks of the batch, and refuses a batch id that could change the query', () => {
    expect(batchCancelQuery('20261201-ab')).toBe("WorkflowType = 'testTaskWorkflow' AND ExecutionStatus = 'Running' AND DtfRunId = '20261201-ab'");
    expect(() => batchCancelQuery("x' OR 1=1")).toThrow(/--batch/);
  });
});
