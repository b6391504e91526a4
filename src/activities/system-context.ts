/**
 * Snapshot of the host for an error report. Runs on the failure path, so every probe is bounded by one shared budget:
 * a probe that has not answered in time is left out and named in `notes`, never waited for.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';
import * as si from 'systeminformation';
import type { CpuContext, DiskContext, GpuContext, MemoryContext, NetworkContext, SystemContext } from '../domain/error-report';
import { gpuClockEventReasons, simulatedGpuContext } from '../domain/error-report';
import type { GpuInfo } from '../domain/hardware';

const execFileAsync = promisify(execFile);

/** Total time a report may spend on context; the failure itself matters more than its context. */
export const DEFAULT_CONTEXT_BUDGET_MS = 400;
/** CPU load is the busy share of CPU time over at least this window. */
export const CPU_LOAD_WINDOW_MS = 100;
/** An older baseline would report the average since the last report rather than the load now. */
const CPU_LOAD_BASELINE_MAX_AGE_MS = 5_000;
/** A wedged GPU can hang nvidia-smi; it is abandoned at the budget and killed at this age. */
const NVIDIA_SMI_KILL_MS = 10_000;
const MAX_DISKS = 8;
const GIB = 1024 ** 3;
/** df already drops most pseudo filesystems; these can still show up and say nothing about free space for tests. */
const PSEUDO_FS_TYPES = new Set(['tmpfs', 'devtmpfs', 'squashfs', 'ramfs', 'efivarfs', 'proc', 'sysfs', 'devpts', 'nsfs', 'autofs']);

export interface CollectSystemContextOptions {
  /** GPUs from the worker's --simulate-gpu option; they appear flagged `simulated` with only name and memory. */
  simulatedGpus?: readonly GpuInfo[];
  /** Total budget for all probes together, in ms. */
  timeoutMs?: number;
}

export async function collectSystemContext(options: CollectSystemContextOptions = {}): Promise<SystemContext> {
  const budget = new Budget(options.timeoutMs ?? DEFAULT_CONTEXT_BUDGET_MS);
  try {
    const [cpuInfo, loadPercent, speedGHz, temperatureC, memory, disk, network, gpus] = await Promise.all([
      budget.probe('cpu.model', () => shared('cpu.model', cpuStatic)),
      budget.probe('cpu.load', () => shared('cpu.load', cpuLoadPercent)),
      budget.probe('cpu.speed', cpuSpeedGHz),
      budget.probe('cpu.temperature', () => shared('cpu.temperature', cpuTemperatureC)),
      budget.probe('memory', memoryContext),
      budget.probe('disk', () => shared('disk', diskContext)),
      budget.probe('network', () => shared('network', networkContext)),
      budget.probe('gpus', () => shared('gpus', nvidiaGpus)),
    ]);
    const cores = os.cpus().length;
    const cpu: CpuContext = {
      ...(cpuInfo?.model !== undefined && { model: cpuInfo.model }),
      ...(cores > 0 && { cores }),
      ...(loadPercent !== undefined && { loadPercent }),
      ...(speedGHz !== undefined && { speedGHz }),
      ...(cpuInfo?.speedMaxGHz !== undefined && { speedMaxGHz: cpuInfo.speedMaxGHz }),
      ...(temperatureC !== undefined && { temperatureC }),
    };
    return {
      cpu,
      ...(memory !== undefined && { memory }),
      disk: disk ?? [],
      network: network ?? [],
      gpus: [...(gpus ?? []), ...(options.simulatedGpus ?? []).map(simulatedGpuContext)],
      notes: budget.notes,
    };
  } finally {
    budget.cancel();
  }
}

const TIMED_OUT = Symbol('timed out');

/** One deadline for all probes of one snapshot. */
class Budget {
  readonly notes: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly expired: Promise<typeof TIMED_OUT>;

  constructor(private readonly ms: number) {
    this.expired = new Promise((resolve) => {
      this.timer = setTimeout(() => resolve(TIMED_OUT), ms);
    });
  }

  /** The probe's answer, or undefined (with a note) when it failed or the budget ran out first. */
  async probe<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await Promise.race([work(), this.expired]);
      if (result === TIMED_OUT) {
        this.notes.push(`${name}: no answer within ${this.ms} ms`);
        return undefined;
      }
      return result;
    } catch (err) {
      this.notes.push(`${name}: failed (${describe(err)})`);
      return undefined;
    }
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

const inFlight = new Map<string, Promise<unknown>>();

/** A probe still running from an earlier report is joined, not started again: a hung probe must not pile up processes. */
function shared<T>(key: string, start: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key) as Promise<T> | undefined;
  if (running) return running;
  const started = start();
  inFlight.set(key, started);
  const forget = (): void => void inFlight.delete(key);
  started.then(forget, forget);
  return started;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 200);
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function positive(n: number | null | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

function percent(part: number, whole: number): number {
  return round(Math.min(100, Math.max(0, (part / whole) * 100)), 1);
}

// ---- CPU

interface CpuStatic {
  model?: string;
  speedMaxGHz?: number;
}
let cpuStaticCache: CpuStatic | undefined;

/** Model and maximum clock do not change while the worker runs; si.cpu() spawns lscpu, so it runs once. */
async function cpuStatic(): Promise<CpuStatic> {
  if (cpuStaticCache) return cpuStaticCache;
  const info = await si.cpu();
  const model = [info.manufacturer, info.brand].filter((s) => s && s.trim()).join(' ').trim();
  cpuStaticCache = {
    ...(model && { model }),
    ...(positive(info.speedMax) !== undefined && { speedMaxGHz: info.speedMax }),
  };
  return cpuStaticCache;
}

interface CpuTimes {
  busy: number;
  total: number;
  at: number;
}
let lastCpuTimes: CpuTimes | undefined;

function readCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const sum = times.user + times.nice + times.sys + times.idle + times.irq;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total, at: Date.now() };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Load over a short window ending now. si.currentLoad() is not used: its first call waits 500 ms (over the budget) and
 * later calls average over the whole time since the previous call, which can be hours between two reports.
 */
async function cpuLoadPercent(): Promise<number | undefined> {
  let base = lastCpuTimes;
  const age = base ? Date.now() - base.at : Infinity;
  if (!base || age > CPU_LOAD_BASELINE_MAX_AGE_MS) {
    base = readCpuTimes();
    await sleep(CPU_LOAD_WINDOW_MS);
  } else if (age < CPU_LOAD_WINDOW_MS) {
    await sleep(CPU_LOAD_WINDOW_MS - age);
  }
  const now = readCpuTimes();
  lastCpuTimes = now;
  const total = now.total - base.total;
  return total > 0 ? percent(now.busy - base.busy, total) : undefined;
}

async function cpuSpeedGHz(): Promise<number | undefined> {
  const speed = await si.cpuCurrentSpeed();
  const avg = positive(speed.avg);
  return avg === undefined ? undefined : round(avg);
}

let cpuSensorsMissing = false;

async function cpuTemperatureC(): Promise<number | undefined> {
  if (cpuSensorsMissing) return undefined; // sensors do not appear while the worker runs; skip the shell-outs
  const t = await si.cpuTemperature();
  // Virtual machines report null (or 0/-1 on some kernels): unknown, not cold.
  const celsius = positive(t.max) ?? positive(t.main);
  if (celsius === undefined) cpuSensorsMissing = true;
  return celsius;
}

// ---- Memory

async function memoryContext(): Promise<MemoryContext | undefined> {
  const m = await si.mem();
  if (!(m.total > 0)) return undefined;
  const used = Math.max(0, m.total - m.available);
  return { totalGb: round(m.total / GIB), usedGb: round(used / GIB), usedPercent: percent(used, m.total) };
}

// ---- Disk

let diskMounts: string[] | undefined;

/** Which mounts to watch is learnt once from df (si.fsSize); their usage is then read with statfs, no process spawned. */
async function diskContext(): Promise<DiskContext[]> {
  if (!diskMounts) {
    const found = pickDiskMounts(await si.fsSize());
    diskMounts = found.length > 0 ? found : ['/'];
  }
  const disks = await Promise.all(diskMounts.map(diskUsage));
  return disks.filter((d): d is DiskContext => d !== undefined);
}

function pickDiskMounts(all: readonly si.Systeminformation.FsSizeData[]): string[] {
  const real = all
    .filter((d) => d.mount && d.size > 0 && !PSEUDO_FS_TYPES.has(d.type.toLowerCase()))
    // Root first, then shortest mount: a device bind-mounted in many places (Docker's /etc/hosts) is kept once, at its top.
    .sort((a, b) => (a.mount === '/' ? -1 : b.mount === '/' ? 1 : a.mount.length - b.mount.length));
  const seen = new Set<string>();
  const mounts: string[] = [];
  for (const d of real) {
    if (seen.has(d.fs)) continue;
    seen.add(d.fs);
    mounts.push(d.mount);
  }
  return mounts.slice(0, MAX_DISKS);
}

async function diskUsage(mount: string): Promise<DiskContext | undefined> {
  try {
    const s = await fsp.statfs(mount);
    const total = s.blocks * s.bsize;
    const available = s.bavail * s.bsize;
    const used = total - s.bfree * s.bsize;
    if (!(total > 0)) return undefined;
    // As df computes Use%: blocks reserved for root count as neither used nor available.
    return {
      mount,
      totalGb: round(total / GIB),
      availableGb: round(available / GIB),
      usedPercent: used + available > 0 ? percent(used, used + available) : 0,
    };
  } catch {
    return undefined; // unmounted since the layout was learnt
  }
}

// ---- Network

let defaultIface: string | undefined;

async function networkContext(): Promise<NetworkContext[]> {
  defaultIface ??= (await si.networkInterfaceDefault()) || undefined;
  if (!defaultIface) return [];
  const stats = await si.networkStats(defaultIface);
  return stats
    .filter((s) => s.iface)
    .map((s) => ({
      iface: s.iface,
      rxBytes: counter(s.rx_bytes),
      txBytes: counter(s.tx_bytes),
      rxErrors: counter(s.rx_errors),
      txErrors: counter(s.tx_errors),
    }));
}

function counter(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

// ---- GPUs

/**
 * Queried from nvidia-smi directly rather than through si.graphics(): that one runs nvidia-smi with execFileSync, which
 * blocks the worker's event loop (heartbeats included) for as long as a wedged GPU makes nvidia-smi hang, reads no throttle
 * reasons, and on Linux only asks nvidia-smi when lspci is installed.
 */
const GPU_FIELDS_FULL = [
  'index',
  'name',
  'memory.total',
  'memory.used',
  'utilization.gpu',
  'temperature.gpu',
  'clocks.sm',
  'clocks.max.sm',
  'clocks_throttle_reasons.active',
] as const;
/** For drivers that reject a field of the full set. */
const GPU_FIELDS_BASIC = GPU_FIELDS_FULL.slice(0, 6);
type GpuField = (typeof GPU_FIELDS_FULL)[number];

let gpuFields: readonly GpuField[] = GPU_FIELDS_FULL;
let nvidiaSmiMissing = false;

export async function nvidiaGpus(): Promise<GpuContext[]> {
  if (nvidiaSmiMissing) return [];
  try {
    return parseNvidiaSmi(await runNvidiaSmi(gpuFields), gpuFields);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      nvidiaSmiMissing = true; // no NVIDIA driver here: do not try to spawn it on every report
      return [];
    }
    if (gpuFields !== GPU_FIELDS_BASIC && /not a valid field/i.test(errorOutput(err))) {
      gpuFields = GPU_FIELDS_BASIC;
      return parseNvidiaSmi(await runNvidiaSmi(gpuFields), gpuFields);
    }
    const detail = errorOutput(err).trim().split('\n')[0];
    throw new Error(`nvidia-smi: ${detail || describe(err)}`);
  }
}

async function runNvidiaSmi(fields: readonly GpuField[]): Promise<string> {
  const { stdout } = await execFileAsync('nvidia-smi', [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], {
    timeout: NVIDIA_SMI_KILL_MS,
    windowsHide: true,
  });
  return stdout;
}

function errorOutput(err: unknown): string {
  const e = err as { stdout?: unknown; stderr?: unknown };
  return `${typeof e.stderr === 'string' ? e.stderr : ''}${typeof e.stdout === 'string' ? e.stdout : ''}`;
}

/** `nvidia-smi --format=csv,noheader,nounits` rows; "[N/A]", "[Not Supported]" and the like become absent fields. */
export function parseNvidiaSmi(stdout: string, fields: readonly string[]): GpuContext[] {
  const gpus: GpuContext[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== fields.length) continue;
    const value = (field: string): string | undefined => {
      const v = cells[fields.indexOf(field)];
      return v === undefined || v === '' || /^\[.*\]$|^N\/A$/i.test(v) ? undefined : v;
    };
    const num = (field: string): number | undefined => {
      const v = value(field);
      const n = v === undefined ? NaN : Number(v);
      return Number.isFinite(n) ? n : undefined;
    };
    const name = value('name');
    const memoryTotalMiB = num('memory.total');
    if (!name || memoryTotalMiB === undefined) continue;
    const index = num('index');
    const memoryUsedMiB = num('memory.used');
    const utilization = num('utilization.gpu');
    const temperatureC = num('temperature.gpu');
    const clockSm = num('clocks.sm');
    const clockMaxSm = num('clocks.max.sm');
    const reasons = value('clocks_throttle_reasons.active');
    gpus.push({
      ...(index !== undefined && { index }),
      name,
      memoryTotalGb: round(memoryTotalMiB / 1024),
      ...(memoryUsedMiB !== undefined && { memoryUsedGb: round(memoryUsedMiB / 1024) }),
      ...(utilization !== undefined && { utilizationPercent: Math.min(100, Math.max(0, utilization)) }),
      ...(temperatureC !== undefined && { temperatureC }),
      ...(clockSm !== undefined && { clockSmMHz: clockSm }),
      ...(clockMaxSm !== undefined && { clockMaxSmMHz: clockMaxSm }),
      ...(reasons !== undefined && /^0x[0-9a-f]+$/i.test(reasons) && {
        clockEventReasons: gpuClockEventReasons(Number(BigInt(reasons) & 0xffffffffn)),
      }),
      simulated: false,
    });
  }
  return gpus;
}
