/** Builds the ErrorReport attached to a failure: context, hardware status, frequency, secrets scrubbed. Never fails for lack of context. */
import { performance } from 'node:perf_hooks';
import type { ErrorKind } from '../domain/categories';
import type { ErrorFrequencyTracker } from '../domain/error-frequency';
import {
  ErrorReport,
  MESSAGE_MAX_CHARS,
  SystemContext,
  hardwareStatusFrom,
  keepUtf8Tail,
  simulatedGpuContext,
  type ReportIds,
} from '../domain/error-report';
import type { GpuInfo } from '../domain/hardware';
import { redactSecrets, secretValuesOf } from '../domain/redact';
import { collectSystemContext } from './system-context';

/**
 * Redaction sees this much of the output's end before the 8 KiB cap: a key block or token cut by the cap was still seen
 * whole, while a multi-megabyte output costs no more than this.
 */
const REDACT_WINDOW_CHARS = 64 * 1024;

export interface BuildErrorReportInput {
  /** What the classifier decided (see domain/classification). */
  classification: { category: string; kind: ErrorKind; rule: string };
  message: string;
  exitCode: number | null;
  signal: string | null;
  outputTail: string;
  ids: ReportIds;
  /** Environment the failed command ran with: values of its secret-named variables are scrubbed wherever they appear. */
  env?: Readonly<Record<string, string | undefined>>;
  /** GPUs from --simulate-gpu, shown in the context flagged `simulated`. */
  simulatedGpus?: readonly GpuInfo[];
  tracker: ErrorFrequencyTracker;
  /** Clock for the timestamp and the frequency windows (ms since epoch). */
  now?: number;
  /** Budget for context collection, default DEFAULT_CONTEXT_BUDGET_MS. */
  contextTimeoutMs?: number;
}

export async function buildErrorReport(input: BuildErrorReportInput): Promise<ErrorReport> {
  const now = input.now ?? Date.now();
  const started = performance.now();
  const systemContext = await contextOrWhatWeHave(input);
  const contextCollectionMs = Math.round((performance.now() - started) * 10) / 10;

  const knownSecrets = input.env ? secretValuesOf(input.env) : [];
  const message = redactSecrets(input.message, { knownSecrets }).slice(0, MESSAGE_MAX_CHARS);
  const outputTail = keepUtf8Tail(redactSecrets(input.outputTail.slice(-REDACT_WINDOW_CHARS), { knownSecrets }));
  const { category, kind, rule } = input.classification;

  return ErrorReport.parse({
    category,
    kind,
    rule,
    message,
    exitCode: input.exitCode,
    signal: input.signal,
    outputTail,
    ids: input.ids,
    timestamp: new Date(now).toISOString(),
    systemContext,
    hardwareStatus: hardwareStatusFrom(systemContext),
    frequency: input.tracker.record(category, message, now),
    contextCollectionMs,
  });
}

/** Collection and its validation are both allowed to fail; the report then carries what is certain and says why. */
async function contextOrWhatWeHave(input: BuildErrorReportInput): Promise<SystemContext> {
  let problem: string;
  try {
    const collected = await collectSystemContext({ simulatedGpus: input.simulatedGpus, timeoutMs: input.contextTimeoutMs });
    const checked = SystemContext.safeParse(collected);
    if (checked.success) return checked.data;
    problem = `context: discarded, invalid (${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`;
  } catch (err) {
    problem = `context: collection failed (${err instanceof Error ? err.message : String(err)})`;
  }
  return {
    cpu: {},
    disk: [],
    network: [],
    gpus: (input.simulatedGpus ?? []).map(simulatedGpuContext),
    notes: [problem.slice(0, 500)],
  };
}
