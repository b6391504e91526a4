/**
 * `dtf status ID`, for people: one page per task from what the CLI read (describe, result or progress query, the
 * running attempt's heartbeat). Pure: plain data in, text out; `dtf status --json` prints the data instead.
 */
import { z } from 'zod';
import { ErrorReport, GpuContext, SystemContext } from '../../domain/error-report';
import type { LiveOutputSnapshot } from '../../domain/live-output';
import type { RecoveryLogEntry, TaskProgress, TestTaskResult } from '../../domain/task-result';
import type { HardwareRequirement } from '../../domain/task-spec';
import type { TestsSummary } from '../../domain/test-results';
import { clipText, table } from './text';

/** What the running (or scheduled) attempt looks like from its pending activity. */
export interface AttemptView {
  state: 'scheduled' | 'started' | 'cancel-requested';
  attempt?: number;
  hostId?: string;
  worker?: string;
  elapsedMs?: number;
  lastHeartbeatAt?: string;
  output?: LiveOutputSnapshot;
}

export interface StatusView {
  workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, CANCELED, FAILED, TERMINATED, TIMED_OUT. */
  temporalStatus: string;
  searchAttributes: Record<string, unknown>;
  /** The task's name and hardware requirement, from the workflow's input. */
  spec?: { name: string; hardware?: Partial<HardwareRequirement>; host?: string };
  /** The result of a task that ended. */
  result?: TestTaskResult;
  /** The progress query's answer (a task that runs, is parked, or was cancelled). */
  progress?: TaskProgress;
  attempt?: AttemptView;
  /** Why a scheduled attempt waits, from the poller lists and queue stats. */
  waiting?: string;
  /** How a workflow that did not complete ended (a failure or termination message). */
  closeReason?: string;
}

/** An artifact kept after an attempt. Typed loosely: results from workers that keep none have no `artifacts`. */
export const ArtifactView = z
  .object({
    path: z.string(),
    url: z.string().optional(),
    bytes: z.number().optional(),
    attempt: z.number().optional(),
    host: z.string().optional(),
  })
  .passthrough();
export type ArtifactView = z.infer<typeof ArtifactView>;

const OUTPUT_TAIL_LINES = 15;
const REASON_CHARS = 90;

/** The task's status as dtf sees it: the result's, else the progress query's, else the search attribute's. */
export function taskStatusOf(v: StatusView): string {
  return v.result?.status ?? v.progress?.status ?? String(v.searchAttributes.DtfStatus ?? v.temporalStatus.toLowerCase());
}

/** The result that describes the task's last run: its final result, or the one parked in the dead letter queue. */
const runResult = (v: StatusView): TestTaskResult | undefined => v.result ?? v.progress?.parked;

export interface LastErrorView {
  category?: string;
  kind?: string;
  rule?: string;
  message?: string;
  hostId?: string;
  attempt?: number;
  exitCode?: number | null;
  signal?: string | null;
  at?: string;
  hardware?: string[];
  system?: string[];
}

/** The last error, from the error report when there is one (validated; an odd one falls back to its plain fields). */
export function lastErrorOf(v: StatusView): LastErrorView | undefined {
  const run = runResult(v);
  const rawReport = run?.report ?? v.progress?.lastFailure?.report;
  const parsed = ErrorReport.safeParse(rawReport);
  if (parsed.success) {
    const r = parsed.data;
    return {
      category: r.category,
      kind: r.kind,
      rule: r.rule,
      message: r.message,
      hostId: r.ids.hostId,
      attempt: r.ids.attempt,
      exitCode: r.exitCode,
      signal: r.signal,
      at: r.timestamp,
      hardware: hardwareLines(r.hardwareStatus),
      system: systemLines(r.systemContext),
    };
  }
  const loose = (rawReport ?? {}) as Partial<Record<'category' | 'kind' | 'rule' | 'message', string>>;
  const lastLog = [...(run?.recoveryLog ?? v.progress?.recoveryLog ?? [])].reverse().find((e) => e.category);
  const category = loose.category ?? run?.category ?? v.progress?.lastFailure?.category ?? lastLog?.category;
  if (!category) return undefined;
  return {
    category,
    kind: loose.kind ?? lastLog?.kind,
    rule: loose.rule ?? lastLog?.rule,
    message: loose.message ?? v.progress?.lastFailure?.message ?? run?.reason ?? lastLog?.reason,
    hostId: lastLog?.hostId ?? run?.hostId,
    attempt: lastLog?.attempt,
    exitCode: run?.exitCode ?? v.progress?.lastFailure?.exitCode,
  };
}

function hardwareLines(h: ErrorReport['hardwareStatus']): string[] {
  const flags = [h.overheating && 'OVERHEATING', h.memoryPressure && 'MEMORY PRESSURE', h.throttling && 'THROTTLING'].filter(Boolean) as string[];
  const head = flags.length ? flags.join(', ') : 'ok: no overheating, memory pressure or throttling';
  return [head, ...h.warnings];
}

const gb = (n: number) => `${Math.round(n * 10) / 10} GB`;

function gpuLine(g: GpuContext, i: number): string {
  const parts = [`GPU ${g.index ?? i} ${g.name} ${g.memoryUsedGb !== undefined ? `${gb(g.memoryUsedGb)} of ` : ''}${gb(g.memoryTotalGb)}`];
  if (g.utilizationPercent !== undefined) parts.push(`${g.utilizationPercent} % busy`);
  if (g.temperatureC !== undefined) parts.push(`${g.temperatureC} °C`);
  if (g.simulated) parts.push('simulated (--simulate-gpu), nothing measured');
  return parts.join(', ');
}

function systemLines(c: SystemContext): string[] {
  const cpu = [c.cpu.model, c.cpu.cores !== undefined && `${c.cpu.cores} cores`, c.cpu.loadPercent !== undefined && `${Math.round(c.cpu.loadPercent)} % busy`, c.cpu.temperatureC !== undefined && `${c.cpu.temperatureC} °C`]
    .filter(Boolean)
    .join(', ');
  const lines = [`CPU ${cpu || 'unknown'}${c.memory ? `; memory ${gb(c.memory.usedGb)} of ${gb(c.memory.totalGb)} in use` : ''}`];
  lines.push(...c.gpus.map(gpuLine));
  if (c.notes.length) lines.push(`not measured: ${c.notes.join('; ')}`);
  return lines;
}

/** `cuda, ≥ 24 GB GPU memory, cc ≥ 8.0, 2 GPUs, may fall back to cpu` */
export function requirementText(spec: StatusView['spec']): string | undefined {
  if (!spec) return undefined;
  const hw = spec.hardware ?? {};
  const parts: string[] = [hw.class ?? 'cpu'];
  if (hw.minGpuMemoryGb !== undefined) parts.push(`≥ ${hw.minGpuMemoryGb} GB GPU memory`);
  if (hw.minComputeCapability !== undefined) parts.push(`cc ≥ ${hw.minComputeCapability}`);
  if (hw.gpus !== undefined && hw.gpus > 1) parts.push(`${hw.gpus} GPUs`);
  if (hw.fallback?.length) parts.push(`may fall back to ${hw.fallback.join(', ')}`);
  if (spec.host) parts.push(`pinned to host ${spec.host}`);
  return parts.join(', ');
}

/** The artifacts a result lists, when its worker keeps them (others have none: not an error). */
export function artifactsOf(result: unknown): ArtifactView[] {
  const parsed = z.array(ArtifactView).safeParse((result as { artifacts?: unknown } | undefined)?.artifacts);
  return parsed.success ? parsed.data : [];
}

/** What the operator can do next, as commands to copy. */
export function nextSteps(v: StatusView): string[] {
  const id = v.workflowId;
  const status = taskStatusOf(v);
  const err = lastErrorOf(v);
  switch (status) {
    case 'dead_lettered': {
      const specFault = err?.kind === 'validation' || err?.category === 'TEST_CONFIGURATION_ERROR' || err?.category === 'TEST_DEPENDENCY_ERROR';
      const steps = [
        `dtf dlq redrive ${id} --spec FIXED.yaml   # rerun in the same workflow with a corrected spec (same name)`,
        `dtf dlq redrive ${id}   # rerun as it is${specFault ? '' : ', e.g. once an eligible host is back (see dtf workers)'}`,
        `dtf dlq discard ${id} --reason "…"   # end it for good`,
      ];
      return specFault ? steps : [steps[1], steps[0], steps[2]];
    }
    case 'queued':
      return [
        ...(v.attempt?.state === 'started' ? [`dtf logs ${id} --follow   # its output as it runs`] : [`dtf workers   # who could take it, and how busy they are`]),
        `dtf reassign ${id} --to cpu|cuda|dtf-cuda-24gb|HOST   # place it elsewhere`,
        `dtf cancel ${id}`,
      ];
    case 'running':
    case 'retrying':
      return [
        `dtf logs ${id} --follow   # its output as it runs`,
        `dtf reassign ${id} --to cpu|cuda|dtf-cuda-24gb|HOST   # move it`,
        ...(v.attempt?.hostId ? [`dtf report-failure ${id} --category HARDWARE_PERFORMANCE_ERROR --message "…"   # host ${v.attempt.hostId} is unhealthy`] : []),
        `dtf cancel ${id}`,
      ];
    case 'failed':
      return [`fix the test (failing cases above), then submit the task again: dtf submit FILE`];
    case 'error':
    case 'expired':
    case 'discarded':
      return [`fix what the last error says (or wait for hosts, see dtf workers), then submit the task again: dtf submit FILE`];
    default:
      return [];
  }
}

function outcomeLine(v: StatusView): string {
  const status = taskStatusOf(v);
  const run = runResult(v);
  const reason = run?.reason ?? v.closeReason;
  switch (status) {
    case 'passed':
      return `passed${run?.hostId ? ` on ${run.hostId}` : ''}`;
    case 'dead_lettered':
      return `dead-lettered: ${reason ?? 'no option left'}; waiting for a redrive or a discard`;
    case 'running':
      return `running${v.attempt?.hostId ? ` on ${v.attempt.hostId}` : ''}${v.attempt?.attempt ? `, attempt ${v.attempt.attempt}` : ''}${v.attempt?.elapsedMs !== undefined ? `, for ${seconds(v.attempt.elapsedMs)}` : ''}`;
    case 'queued':
    case 'retrying':
      return `${status}${v.waiting ? `; ${v.waiting}` : v.progress?.waitingReason ? `; ${v.progress.waitingReason}` : ''}`;
    default:
      return `${status}${reason ? `: ${reason}` : ''}`;
  }
}

const seconds = (ms: number) => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

function recoveryTable(log: readonly RecoveryLogEntry[]): string[] {
  const rows = log.map((e) => [
    e.at.slice(11, 19),
    `p${e.placement}${e.attempt ? ` a${e.attempt}` : ''}`,
    e.action,
    e.hostId ?? '',
    e.category ? `${e.category}${e.rule ? ` (${e.rule})` : ''}` : '',
    clipText([e.to && `→ ${e.to}`, e.delayMs && `after ${e.delayMs} ms`, e.reason].filter(Boolean).join('; '), REASON_CHARS),
  ]);
  return table(['TIME', 'WHERE', 'ACTION', 'HOST', 'CATEGORY', 'DETAIL'], rows);
}

function testsLines(t: TestsSummary): string[] {
  const counts = [`${t.total} total`, `${t.passed} passed`, `${t.failed} failed`, `${t.errored} errored`, `${t.skipped} skipped`, `${t.flaky} flaky`];
  if (t.quarantined) counts.push(`${t.quarantined} quarantined`);
  const cases = t.cases.filter((c) => c.status !== 'skipped').slice(0, 10);
  return [
    counts.join(', '),
    ...cases.map((c) => `${c.status.padEnd(7)} ${c.id}${c.message ? `: ${clipText(c.message.split('\n')[0], 100)}` : ''}`),
    ...(t.cases.length + t.casesOmitted > cases.length ? [`… ${t.cases.length + t.casesOmitted - cases.length} more case(s) (dtf status --json lists them)`] : []),
  ];
}

function outputTail(v: StatusView): { title: string; lines: string[] } | undefined {
  const run = runResult(v);
  const text = run?.outputTail || v.progress?.lastFailure?.outputTail;
  if (v.attempt?.output?.lines.length) {
    return { title: `live output of attempt ${v.attempt.attempt ?? '?'} (last lines, from its heartbeat)`, lines: v.attempt.output.lines.slice(-OUTPUT_TAIL_LINES) };
  }
  if (!text) return undefined;
  const lines = text.trimEnd().split('\n');
  return { title: `output tail (last ${Math.min(lines.length, OUTPUT_TAIL_LINES)} of ${lines.length} lines kept)`, lines: lines.slice(-OUTPUT_TAIL_LINES) };
}

/** The whole page. */
export function renderStatusPage(v: StatusView): string {
  const out: string[] = [];
  const sa = v.searchAttributes;
  const run = runResult(v);
  const section = (title: string, lines: string[]) => {
    if (!lines.length) return;
    out.push('', title, ...lines.map((l) => `  ${l}`));
  };
  out.push(`${v.workflowId}: ${taskStatusOf(v).toUpperCase()} (Temporal: ${v.temporalStatus})`);
  out.push(`  ${outcomeLine(v)}`);
  const fields: [string, string | undefined][] = [
    ['task', v.spec?.name ?? run?.name],
    ['requirement', requirementText(v.spec)],
    ['host', v.attempt?.hostId ?? run?.hostId ?? (sa.DtfHost as string | undefined)],
    ['queue', v.progress?.placement?.queue ?? run?.queue ?? (sa.DtfQueue as string | undefined)],
    ['class', run?.hwClass ?? (sa.DtfHardwareClass as string | undefined)],
    ['attempts', String(run?.attempts ?? v.progress?.attempts ?? '') || undefined],
    ['placements', run ? String(run.placements.length) : v.progress ? String(v.progress.placementsUsed) : undefined],
    ['duration', run ? seconds(run.durationMs) : undefined],
    ['exit code', run?.exitCode !== undefined && run?.exitCode !== null ? String(run.exitCode) : undefined],
    ['batch', sa.DtfRunId as string | undefined],
    ['excluded', v.progress?.excludedHosts.length ? v.progress.excludedHosts.join(', ') : undefined],
  ];
  const shown = fields.filter((f): f is [string, string] => !!f[1]);
  const w = Math.max(...shown.map(([k]) => k.length));
  out.push(...shown.map(([k, val]) => `  ${k.padEnd(w)}  ${val}`));

  const err = lastErrorOf(v);
  if (err && taskStatusOf(v) !== 'passed') {
    const lines = [
      `category  ${err.category}${err.kind ? ` (${err.kind})` : ''}${err.rule ? `, rule ${err.rule}` : ''}`,
      ...(err.message ? [`message   ${clipText(err.message.replace(/\s*\n\s*/g, ' ⏎ '), 300)}`] : []),
      ...(err.hostId ? [`host      ${err.hostId}${err.attempt ? `, attempt ${err.attempt}` : ''}${err.exitCode !== undefined && err.exitCode !== null ? `, exit code ${err.exitCode}` : ''}${err.signal ? `, signal ${err.signal}` : ''}${err.at ? `, at ${err.at}` : ''}`] : []),
      ...(err.hardware ?? []).map((l, i) => `${i === 0 ? 'hardware' : ''.padEnd(8)}  ${l}`),
      ...(err.system ?? []).map((l, i) => `${i === 0 ? 'system  ' : ''.padEnd(8)}  ${l}`),
    ];
    section('Last error', lines);
  }

  const log = run?.recoveryLog ?? v.progress?.recoveryLog ?? [];
  section(`Recovery log (${log.length} entr${log.length === 1 ? 'y' : 'ies'})`, log.length ? recoveryTable(log) : []);
  const tests = run?.tests;
  if (tests) section('Tests', testsLines(tests));
  const artifacts = artifactsOf(run);
  if (artifacts.length) {
    section(
      'Artifacts',
      table(
        ['PATH', 'BYTES', 'ATTEMPT', 'HOST', 'WHERE'],
        artifacts.map((a) => [a.path, a.bytes !== undefined ? String(a.bytes) : '', a.attempt !== undefined ? String(a.attempt) : '', a.host ?? '', a.url ?? '']),
      ),
    );
  }
  section('Next', nextSteps(v));
  const tail = outputTail(v);
  if (tail) section(tail.title[0].toUpperCase() + tail.title.slice(1), tail.lines.map((l) => `│ ${l}`));
  return out.join('\n');
}
