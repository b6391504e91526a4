/** The error classifier: rules as data, a pure classify function, user configuration, and JSONL batch mode. */
import { z } from 'zod';
import { classifyFailure, type FailureObservation } from './classify';
import type { CompiledRule } from './rules';

export {
  classifyFailure,
  parseJUnitFailures,
  EXCERPT_LIMIT,
  JUNIT_FAILURES_RULE,
  JUNIT_NO_TESTS_RULE,
  MODEL_RULE,
  OPAQUE_OVERRIDE_CONFIDENCE,
  OUTPUT_FULL_LIMIT,
  OUTPUT_TAIL_LIMIT,
  UNRECOGNISED_RULE,
  outputEvidence,
  defaultModel,
  junitRanNoTests,
  type Classification,
  type ClassifyOptions,
  type FailureObservation,
  type JUnitFailure,
} from './classify';
export { BUILT_IN_RULES, BUILT_IN_RULE_DEFINITIONS, normalizeSignal, type CompiledRule, type RuleDefinition } from './rules';
export {
  ClassifierCategory,
  ClassifierConfig,
  ClassifierConfigError,
  ClassifierRule,
  compileRules,
  formatConfigIssues,
  kindOf,
  parseClassifierConfig,
} from './config';
export { CorpusEntry, observationOf, parseCorpus, scoreCorpus, type CorpusMiss, type CorpusScore } from './corpus';
export { loadModel, predict, type LinearModel, type ModelData, type ModelPrediction } from './model';

/** One line of `dtf classify --jsonl`; other fields (e.g. a corpus label) are ignored. */
const JsonlObservation = z.object({
  message: z.string(),
  exit_code: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  output_tail: z.string().optional(),
  exception_type: z.string().optional(),
  junit_xml: z.string().optional(),
});

function observationFromJsonl(o: z.infer<typeof JsonlObservation>): FailureObservation {
  return {
    message: o.message,
    ...(o.exit_code !== undefined ? { exitCode: o.exit_code } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.output_tail !== undefined ? { outputTail: o.output_tail } : {}),
    ...(o.exception_type !== undefined ? { exceptionType: o.exception_type } : {}),
    ...(o.junit_xml !== undefined ? { junitXml: o.junit_xml } : {}),
  };
}

/**
 * Classifies JSONL (`{"message": ..., "exit_code"?: ..., "signal"?: ...}` per line) and returns one JSON string
 * per non-empty input line, in order. A malformed line yields `{"error": "line N: ..."}` and the batch carries on.
 */
export function classifyJsonl(text: string, rules?: readonly CompiledRule[]): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) return;
    const lineNo = index + 1;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      out.push(JSON.stringify({ error: `line ${lineNo}: invalid JSON (${e instanceof Error ? e.message : String(e)})` }));
      return;
    }
    const parsed = JsonlObservation.safeParse(json);
    if (!parsed.success) {
      const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ');
      out.push(JSON.stringify({ error: `line ${lineNo}: ${reasons}` }));
      return;
    }
    out.push(JSON.stringify(classifyFailure(observationFromJsonl(parsed.data), rules)));
  });
  return out;
}
