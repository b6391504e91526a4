import { buildErrorReport } from '../../src/activities/error-report';
import { collectSystemContext, parseNvidiaSmi } from '../../src/activities/system-context';
import { ErrorFrequencyTracker } from '../../src/domain/error-frequency';
import {
  ErrorReport,
  MEMORY_PRESSURE_PERCENT,
  OUTPUT_TAIL_MAX_BYTES,
  OVERHEAT_TEMPERATURE_C,
  type GpuContext,
  type SystemContext,
  gpuClockEventReasons,
  hardwareStatusFrom,
  keepUtf8Tail,
  utf8ByteLength,
} from '../../src/domain/error-report';
import type { GpuInfo } from '../../src/domain/hardware';
import { REDACTED } from '../../src/domain/redact';

const quietHost: SystemContext = {
  cpu: { cores: 8, loadPercent: 20, speedGHz: 3.5, speedMaxGHz: 4.0, temperatureC: 55 },
  memory: { totalGb: 64, usedGb: 16, usedPercent: 25 },
  disk: [{ mount: '/', totalGb: 500, availableGb: 250, usedPercent: 50 }],
  network: [{ iface: 'eth0', rxBytes: 1, txBytes: 2, rxErrors: 0, txErrors: 0 }],
  gpus: [{ index: 0, name: 'NVIDIA RTX 4090', memoryTotalGb: 24, memoryUsedGb: 2, temperatureC: 60, simulated: false }],
  notes: [],
};

function withGpu(gpu: Partial<GpuContext>): SystemContext {
  return { ...quietHost, gpus: [{ ...quietHost.gpus[0], ...gpu }] };
}

const ids = {
  taskId: 'unit-test',
  workflowId: 'dtf-task-unit-test',
  runId: 'run-1',
  activityId: '1',
  attempt: 1,
  workerIdentity: 'dtf:host-a:gpu24:cc8.9:pid42',
  hostId: 'host-a',
};

const validReport: ErrorReport = {
  category: 'RESOURCE_ALLOCATION_ERROR',
  kind: 'resource',
  rule: 'cuda-oom',
  message: 'CUDA out of memory',
  exitCode: 1,
  signal: null,
  outputTail: '...\nRuntimeError: CUDA out of memory',
  ids,
  timestamp: '2025-06-01T12:00:00.000Z',
  systemContext: quietHost,
  hardwareStatus: { overheating: false, memoryPressure: false, throttling: false, warnings: [] },
  frequency: { lastHour: 1, last6Hours: 1, last24Hours: 1, recurring: false },
  contextCollectionMs: 12.5,
};

describe('ErrorReport schema', () => {
  it('accepts a complete report', () => {
    expect(ErrorReport.parse(validReport)).toEqual(validReport);
  });

  it('accepts a report from a machine that provides little: no memory, temperatures, GPUs or optional ids', () => {
    const { runId: _r, activityId: _a, ...requiredIds } = ids;
    const bare = { ...validReport, ids: requiredIds, systemContext: { cpu: {}, disk: [], network: [], gpus: [], notes: ['memory: no answer within 400 ms'] } };
    expect(ErrorReport.safeParse(bare).success).toBe(true);
  });

  it('rejects an output tail over the cap, a lowercase category, an unknown kind and a non-ISO timestamp', () => {
    expect(ErrorReport.safeParse({ ...validReport, outputTail: 'x'.repeat(OUTPUT_TAIL_MAX_BYTES + 1) }).success).toBe(false);
    expect(ErrorReport.safeParse({ ...validReport, category: 'oom' }).success).toBe(false);
    expect(ErrorReport.safeParse({ ...validReport, kind: 'fatal' }).success).toBe(false);
    expect(ErrorReport.safeParse({ ...validReport, timestamp: 'yesterday' }).success).toBe(false);
  });

  it('requires a simulated flag on every GPU', () => {
    const { simulated: _s, ...unflagged } = quietHost.gpus[0];
    expect(ErrorReport.safeParse({ ...validReport, systemContext: { ...quietHost, gpus: [unflagged] } }).success).toBe(false);
  });
});

describe('hardwareStatusFrom', () => {
  it('a quiet host has no flags and no warnings', () => {
    expect(hardwareStatusFrom(quietHost)).toEqual({ overheating: false, memoryPressure: false, throttling: false, warnings: [] });
  });

  it(`overheating is strictly above ${OVERHEAT_TEMPERATURE_C} °C, for a GPU`, () => {
    expect(hardwareStatusFrom(withGpu({ temperatureC: 85 })).overheating).toBe(false);
    const hot = hardwareStatusFrom(withGpu({ temperatureC: 85.5 }));
    expect(hot.overheating).toBe(true);
    expect(hot.warnings).toEqual(['GPU 0 (NVIDIA RTX 4090) at 85.5 °C (over 85 °C)']);
  });

  it('overheating is strictly above 85 °C, for the CPU', () => {
    expect(hardwareStatusFrom({ ...quietHost, cpu: { ...quietHost.cpu, temperatureC: 85 } }).overheating).toBe(false);
    expect(hardwareStatusFrom({ ...quietHost, cpu: { ...quietHost.cpu, temperatureC: 86 } }).overheating).toBe(true);
  });

  it(`memory pressure is strictly above ${MEMORY_PRESSURE_PERCENT} % of system memory`, () => {
    const at = (usedPercent: number): SystemContext => ({ ...quietHost, memory: { totalGb: 64, usedGb: 58, usedPercent } });
    expect(hardwareStatusFrom(at(90)).memoryPressure).toBe(false);
    expect(hardwareStatusFrom(at(90.1)).memoryPressure).toBe(true);
  });

  it('memory pressure is strictly above 90 % of a GPU', () => {
    expect(hardwareStatusFrom(withGpu({ memoryTotalGb: 10, memoryUsedGb: 9 })).memoryPressure).toBe(false);
    expect(hardwareStatusFrom(withGpu({ memoryTotalGb: 10, memoryUsedGb: 9.01 })).memoryPressure).toBe(true);
  });

  it('unknown readings (a VM without sensors, a simulated GPU) raise nothing', () => {
    const bare: SystemContext = {
      cpu: {},
      disk: [],
      network: [],
      gpus: [{ name: 'RTX-4090', memoryTotalGb: 24, simulated: true }],
      notes: [],
    };
    expect(hardwareStatusFrom(bare)).toEqual({ overheating: false, memoryPressure: false, throttling: false, warnings: [] });
  });

  it('GPU throttling from thermal or hardware slowdown, not from idling; a power cap is only a warning', () => {
    expect(hardwareStatusFrom(withGpu({ clockEventReasons: ['gpu_idle'] }))).toMatchObject({ throttling: false, warnings: [] });
    const capped = hardwareStatusFrom(withGpu({ clockEventReasons: ['sw_power_cap'] }));
    expect(capped.throttling).toBe(false);
    expect(capped.warnings).toHaveLength(1);
    expect(hardwareStatusFrom(withGpu({ clockEventReasons: ['hw_thermal_slowdown'] })).throttling).toBe(true);
    expect(hardwareStatusFrom(withGpu({ clockEventReasons: ['sw_thermal_slowdown'] })).throttling).toBe(true);
  });

  it('CPU throttling when busy and well below its maximum clock, not when idle', () => {
    const cpu = (loadPercent: number, speedGHz: number): SystemContext => ({
      ...quietHost,
      cpu: { ...quietHost.cpu, loadPercent, speedGHz, speedMaxGHz: 4.0 },
    });
    expect(hardwareStatusFrom(cpu(95, 1.6)).throttling).toBe(true);
    expect(hardwareStatusFrom(cpu(5, 1.6)).throttling).toBe(false);
    expect(hardwareStatusFrom(cpu(95, 3.9)).throttling).toBe(false);
  });

  it('warns about a nearly full disk without setting a flag', () => {
    const full = hardwareStatusFrom({ ...quietHost, disk: [{ mount: '/data', totalGb: 100, availableGb: 1, usedPercent: 99 }] });
    expect(full).toMatchObject({ overheating: false, memoryPressure: false, throttling: false });
    expect(full.warnings).toEqual(['disk /data 99 % full, 1 GB left']);
  });
});

describe('output tail cap', () => {
  it('keeps the end within the byte cap without splitting characters', () => {
    const text = `start ${'é'.repeat(5000)} 🙂 end`;
    const tail = keepUtf8Tail(text, 101);
    expect(text.endsWith(tail)).toBe(true);
    expect(utf8ByteLength(tail)).toBeLessThanOrEqual(101);
    expect(utf8ByteLength(tail)).toBeGreaterThanOrEqual(100);
    expect(tail.endsWith('🙂 end')).toBe(true);
    expect(keepUtf8Tail('short')).toBe('short');
  });
});

describe('parseNvidiaSmi', () => {
  const fields = [
    'index',
    'name',
    'memory.total',
    'memory.used',
    'utilization.gpu',
    'temperature.gpu',
    'clocks.sm',
    'clocks.max.sm',
    'clocks_throttle_reasons.active',
  ];

  it('reads nvidia-smi CSV rows, leaving unsupported fields out', () => {
    const out = [
      '0, NVIDIA H100 80GB HBM3, 81559, 1234, 97, 88, 1755, 1980, 0x0000000000000044',
      '1, Tesla T4, 15360, [N/A], [Not Supported], 40, 585, 1590, 0x0000000000000001',
      '',
    ].join('\n');
    expect(parseNvidiaSmi(out, fields)).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalGb: 79.65,
        memoryUsedGb: 1.21,
        utilizationPercent: 97,
        temperatureC: 88,
        clockSmMHz: 1755,
        clockMaxSmMHz: 1980,
        clockEventReasons: ['sw_power_cap', 'hw_thermal_slowdown'],
        simulated: false,
      },
      {
        index: 1,
        name: 'Tesla T4',
        memoryTotalGb: 15,
        temperatureC: 40,
        clockSmMHz: 585,
        clockMaxSmMHz: 1590,
        clockEventReasons: ['gpu_idle'],
        simulated: false,
      },
    ]);
  });

  it('decodes clock event bitmasks', () => {
    expect(gpuClockEventReasons(0)).toEqual([]);
    expect(gpuClockEventReasons(0x8 | 0x80)).toEqual(['hw_slowdown', 'hw_power_brake_slowdown']);
  });
});

describe('buildErrorReport on this machine', () => {
  const simulated: GpuInfo = { name: 'RTX-4090', memoryGb: 24, computeCapability: 8.9, simulated: true };
  const secret = ['ghp', '_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('');

  it('returns a valid report within 1000 ms with context, the simulated GPU flagged, and secrets redacted', async () => {
    const tracker = new ErrorFrequencyTracker();
    const started = performance.now();
    const report = await buildErrorReport({
      classification: { category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'cuda-oom' },
      message: `CUDA out of memory while using token=${secret}`,
      exitCode: 1,
      signal: null,
      outputTail: `${'x'.repeat(20_000)}\ncloning https://bob:hunter22@git.example.com/r.git\nexport HF_TOKEN=plainvalue123\nRuntimeError: CUDA out of memory`,
      ids,
      env: { HF_TOKEN: 'plainvalue123' },
      simulatedGpus: [simulated],
      tracker,
    });
    const elapsed = performance.now() - started;

    expect(elapsed).toBeLessThan(1000);
    expect(ErrorReport.parse(report)).toEqual(report);
    expect(report.systemContext.cpu.cores).toBeGreaterThan(0);
    expect(report.systemContext.memory?.totalGb).toBeGreaterThan(0);
    expect(report.systemContext.gpus).toContainEqual({ name: 'RTX-4090', memoryTotalGb: 24, simulated: true });
    expect(report.contextCollectionMs).toBeLessThan(1000);

    expect(report.message).toBe(`CUDA out of memory while using token=${REDACTED}`);
    expect(report.outputTail).not.toContain(secret);
    expect(report.outputTail).not.toContain('hunter22');
    expect(report.outputTail).not.toContain('plainvalue123');
    expect(report.outputTail.endsWith('RuntimeError: CUDA out of memory')).toBe(true);
    expect(utf8ByteLength(report.outputTail)).toBeLessThanOrEqual(OUTPUT_TAIL_MAX_BYTES);
    expect(report.frequency).toEqual({ lastHour: 1, last6Hours: 1, last24Hours: 1, recurring: false });
  });

  it('counts repeats through the tracker it is given', async () => {
    const tracker = new ErrorFrequencyTracker();
    const base = {
      classification: { category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource' as const, rule: 'cuda-oom' },
      exitCode: 1,
      signal: null,
      outputTail: '',
      ids,
      tracker,
    };
    const now = Date.parse('2025-06-01T12:00:00Z');
    await buildErrorReport({ ...base, message: 'Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)', now });
    await buildErrorReport({ ...base, message: 'Tried to allocate 1.50 GiB (GPU 1; 7.79 GiB total)', now: now + 1000 });
    const third = await buildErrorReport({ ...base, message: 'Tried to allocate 4.00 GiB (GPU 0; 7.79 GiB total)', now: now + 2000 });
    expect(third.frequency).toEqual({ lastHour: 3, last6Hours: 3, last24Hours: 3, recurring: true });
    expect(third.timestamp).toBe('2025-06-01T12:00:02.000Z');
  });

  it('reports what it could when the budget is too small for any probe', async () => {
    const report = await buildErrorReport({
      classification: { category: 'UNKNOWN_ERROR', kind: 'transient', rule: 'fallback' },
      message: 'boom',
      exitCode: null,
      signal: 'SIGKILL',
      outputTail: '',
      ids,
      simulatedGpus: [simulated],
      tracker: new ErrorFrequencyTracker(),
      contextTimeoutMs: 0,
    });
    expect(report.contextCollectionMs).toBeLessThan(200);
    expect(report.systemContext.notes.length).toBeGreaterThan(0);
    expect(report.systemContext.notes.join('\n')).toMatch(/no answer within 0 ms/);
    expect(report.systemContext.gpus).toEqual([{ name: 'RTX-4090', memoryTotalGb: 24, simulated: true }]);
  });

  it('collectSystemContext reuses the cached static parts on a second snapshot', async () => {
    const first = await collectSystemContext({ timeoutMs: 1000 });
    const second = await collectSystemContext({ timeoutMs: 1000 });
    expect(second.cpu.cores).toBe(first.cpu.cores);
    expect(second.disk.map((d) => d.mount)).toEqual(first.disk.map((d) => d.mount));
    expect(second.notes).toEqual([]);
  });
});
