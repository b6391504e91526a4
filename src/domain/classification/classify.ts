/**
 * classifyFailure: one failure observation in, one category + kind + what decided out.
 * The ordered rule table decides first (precision); what no rule recognises goes to the learned fallback
 * (model.ts), which answers UNKNOWN_ERROR only when it is not confident.
 * Pure and deterministic (no I/O, no clock): the model's weights are imported as data.
 */
import { DEFAULT_KIND, type ErrorKind } from '../categories';
import { errorLines } from './features';
import { loadModel, predict, type LinearModel } from './model';
import { MODEL_DATA } from './model-weights';
import { BUILT_IN_RULES, normalizeSignal, shortExceptionName, signalName, signalNumber, type CompiledRule } from './rules';

/** Everything the worker knows about a failure. All fields are optional; the more, the better. */
export interface FailureObservation {
  message?: string;
  /** Tail of stdout/stderr; only the last OUTPUT_TAIL_LIMIT characters are searched. */
  outputTail?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** Exception class name, e.g. `torch.cuda.OutOfMemoryError`. */
  exceptionType?: string;
  /** A JUnit XML report written by the test runner. */
  junitXml?: string;
}

export interface Classification {
  category: string;
  kind: ErrorKind;
  /** The rule that decided, MODEL_RULE when the model did, UNRECOGNISED_RULE when nothing did. */
  rule: string;
  /** Which decided: the rule table (or the JUnit report), or the learned fallback. Set by classifyFailure. */
  decidedBy?: 'rule' | 'model';
  /**
   * 0–1. A rule: 1 (rules are exact). The model: the probability of its category; when the model abstained
   * (UNKNOWN_ERROR), the probability of its best guess, below its threshold. Nothing recognisable at all: 0.
   */
  confidence?: number;
  /** The text the rule matched, at most EXCERPT_LIMIT characters. */
  excerpt?: string;
}

export interface ClassifyOptions {
  /** The learned fallback; the committed model by default, null for rules only. */
  model?: LinearModel | null;
}

/** Infrastructure lines near the end matter most, and a bound keeps every regex scan cheap. */
export const OUTPUT_TAIL_LIMIT = 64 * 1024;
/**
 * Of those 64 KiB, the last OUTPUT_FULL_LIMIT characters are read in full; before them, only the lines that carry
 * an error marker (features.ts), the last ERROR_LINES_LIMIT characters of them. 120 regexes over 64 KiB would
 * cost milliseconds; over this they cost a fraction of one.
 */
export const OUTPUT_FULL_LIMIT = 4 * 1024;
export const ERROR_LINES_LIMIT = 6 * 1024;
/** The message is read from its start (the headline); a runaway message is cut. */
export const MESSAGE_LIMIT = 16 * 1024;
export const JUNIT_TEXT_LIMIT = 32 * 1024;
export const EXCERPT_LIMIT = 200;

/** Decided when a JUnit report lists failures and no rule recognised anything more specific. */
export const JUNIT_FAILURES_RULE = 'junit-reported-failures';
/** Decided when a JUnit report ran no test at all (e.g. pytest -k selected nothing) and no rule matched. */
export const JUNIT_NO_TESTS_RULE = 'junit-no-tests-ran';
/** Decided when nothing at all is recognisable. */
export const UNRECOGNISED_RULE = 'unrecognised-failure';
/**
 * Over a rule that only says "it failed" (UNKNOWN_ERROR), the model decides only with at least this probability:
 * most such wrappers carry nothing more (the corpus labels them UNKNOWN_ERROR), so the bar is higher than its own.
 */
export const OPAQUE_OVERRIDE_CONFIDENCE = 0.5;
/** The `rule` of a decision by the learned fallback. */
export const MODEL_RULE = 'model';

let committedModel: LinearModel | undefined;
/** The committed model, decoded on first use. */
export function defaultModel(): LinearModel {
  committedModel ??= loadModel(MODEL_DATA);
  return committedModel;
}

export interface JUnitFailure {
  element: 'failure' | 'error';
  message?: string;
  type?: string;
  text: string;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeXml(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (whole, entity: string) => {
      const lower = entity.toLowerCase();
      if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
      if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
      return XML_ENTITIES[lower] ?? whole;
    });
}

function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attributes);
  if (!match) return undefined;
  return decodeXml(match[1] ?? match[2] ?? '');
}

/**
 * The <failure> and <error> elements of a JUnit report. A small regex extraction rather than an XML parser:
 * the report is produced by a test runner, not adversarial, and the domain layer stays dependency-free.
 */
export function parseJUnitFailures(xml: string): JUnitFailure[] {
  const failures: JUnitFailure[] = [];
  const element = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1\s*>)/g;
  for (let match = element.exec(xml); match !== null; match = element.exec(xml)) {
    const attributes = match[2] ?? '';
    const message = attribute(attributes, 'message');
    const type = attribute(attributes, 'type');
    failures.push({
      element: match[1] === 'error' ? 'error' : 'failure',
      ...(message !== undefined ? { message } : {}),
      ...(type !== undefined ? { type } : {}),
      text: decodeXml(match[3] ?? '').trim(),
    });
  }
  return failures;
}

/** The last `limit` characters, starting at a line boundary when one is near. */
function tail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const cut = text.length - limit;
  const newline = text.indexOf('\n', cut);
  return newline >= 0 && newline - cut < 1024 ? text.slice(newline + 1) : text.slice(cut);
}

/**
 * True when the report has test suites and every suite says tests="0": the runner collected nothing.
 * A report without a tests attribute says nothing.
 */
export function junitRanNoTests(xml: string): boolean {
  const suites = xml.match(/<testsuites?\b[^>]*>/g);
  if (!suites) return false;
  let counted = false;
  for (const tag of suites) {
    const tests = /\btests\s*=\s*["'](\d+)["']/.exec(tag);
    if (!tests) continue;
    counted = true;
    if (Number(tests[1]) > 0) return false;
  }
  return counted && !/<testcase\b/.test(xml);
}

/**
 * An exit code the text reports when the observation carries none ("srun: task 0: Exited with exit code 139",
 * "make: *** [test] Error 134", "exit status 137"): only the codes whose meaning is fixed by convention (126, 127
 * and 128 + signal), the last one reported. Then the exit-code rules read it as they would a real one.
 */
const TEXT_EXIT_CODE =
  /(?:\bexit(?:ed)?(?: with)?(?: exit)? (?:code|status)|\bexit ?code[:=]|returned non-zero exit status|\*\*\* \[[^\]\n]{1,200}\] Error|\bexited with) ?:? ?(12[67]|1[3-5]\d)\b/gi;

export function exitCodeInText(text: string): number | undefined {
  let code: number | undefined;
  TEXT_EXIT_CODE.lastIndex = 0;
  for (let m = TEXT_EXIT_CODE.exec(text); m !== null; m = TEXT_EXIT_CODE.exec(text)) code = Number(m[1]);
  TEXT_EXIT_CODE.lastIndex = 0;
  return code;
}

/** What the rules and the model read of an output tail: error lines of the last 64 KiB, then its last 4 KiB in full. */
export function outputEvidence(outputTail: string): string {
  const window = tail(outputTail, OUTPUT_TAIL_LIMIT);
  if (window.length <= OUTPUT_FULL_LIMIT + 1024) return window;
  const cut = window.length - OUTPUT_FULL_LIMIT;
  const newline = window.indexOf('\n', cut);
  const split = newline >= 0 && newline - cut < 512 ? newline + 1 : cut;
  return errorLines(window.slice(0, split), ERROR_LINES_LIMIT) + window.slice(split);
}

function junitText(failures: readonly JUnitFailure[]): string {
  const parts: string[] = [];
  for (const f of failures) {
    const head = [f.type, f.message].filter((s): s is string => Boolean(s)).join(': ');
    if (head) parts.push(head);
    if (f.text) parts.push(f.text);
  }
  return parts.join('\n').slice(0, JUNIT_TEXT_LIMIT);
}

interface Evidence {
  haystack: string;
  /** What was read of the output tail (outputEvidence). */
  output: string;
  junitNoTests: boolean;
  junitText: string;
  exitCode?: number;
  signal?: string;
  /** The exit code was read from the text (exitCodeInText), not observed: the model is not told it. */
  exitFromText: boolean;
  exceptionTypes: ReadonlySet<string>;
  junitFailures: readonly JUnitFailure[];
}

/**
 * Exit codes and signals are two views of one fact: a shell reports a process killed by signal n as exit 128+n.
 * Deriving the missing view lets a rule list whichever is natural (`exitCodes: [137]` also matches SIGKILL).
 */
function gatherEvidence(obs: FailureObservation): Evidence {
  const junitFailures = obs.junitXml ? parseJUnitFailures(obs.junitXml) : [];
  const reportText = junitText(junitFailures);
  const output = obs.outputTail ? outputEvidence(obs.outputTail) : '';
  const haystack = [obs.message ? obs.message.slice(0, MESSAGE_LIMIT) : '', output, reportText]
    .filter((part) => part.length > 0)
    .join('\n');

  let signal = normalizeSignal(obs.signal);
  let exitCode = typeof obs.exitCode === 'number' && Number.isInteger(obs.exitCode) ? obs.exitCode : undefined;
  const observedExit = exitCode !== undefined || signal !== undefined;
  if (!observedExit) exitCode = exitCodeInText(haystack);
  if (signal === undefined && exitCode !== undefined && exitCode > 128 && exitCode < 160) signal = signalName(exitCode - 128);
  if (exitCode === undefined && signal !== undefined) {
    const n = signalNumber(signal);
    if (n !== undefined) exitCode = 128 + n;
  }

  // Both the full and the short name, so a row can list either (see RuleDefinition.exceptionTypes).
  const exceptionTypes = new Set<string>();
  for (const t of [obs.exceptionType, ...junitFailures.map((f) => f.type)]) {
    if (!t || !t.trim()) continue;
    exceptionTypes.add(t.trim());
    exceptionTypes.add(shortExceptionName(t));
  }

  return {
    haystack,
    output,
    junitNoTests: obs.junitXml ? junitRanNoTests(obs.junitXml) : false,
    junitText: reportText,
    exceptionTypes,
    junitFailures,
    exitFromText: !observedExit && exitCode !== undefined,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(signal !== undefined ? { signal } : {}),
  };
}

function excerptOf(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= EXCERPT_LIMIT ? trimmed : `${trimmed.slice(0, EXCERPT_LIMIT - 1)}…`;
}

/** undefined: the rule does not match; otherwise the excerpt ('' when the rule has no pattern). */
function matchRule(rule: CompiledRule, ev: Evidence): string | undefined {
  if (rule.exitCodes && (ev.exitCode === undefined || !rule.exitCodes.has(ev.exitCode))) return undefined;
  // An exit code read from the text is a fallback for the exit-code rules alone, not evidence for a phrase rule.
  if ((rule.exitCodes || rule.signals) && (rule.pattern || rule.exceptionTypes) && ev.exitFromText) return undefined;
  if (rule.signals && (ev.signal === undefined || !rule.signals.has(ev.signal))) return undefined;
  if (rule.exceptionTypes) {
    let any = false;
    for (const t of ev.exceptionTypes) if (rule.exceptionTypes.has(t)) any = true;
    if (!any) return undefined;
  }
  if (rule.pattern) {
    // Rules are shared; a hand-built CompiledRule may carry the g or y flag, so never depend on lastIndex.
    rule.pattern.lastIndex = 0;
    const match = rule.pattern.exec(ev.haystack);
    rule.pattern.lastIndex = 0;
    return match ? excerptOf(match[0]) : undefined;
  }
  return '';
}

/**
 * First matching rule wins, so the order of `rules` is the precedence (user rules, then the built-in table).
 * With no match: a JUnit report with failures is a test failure, one that ran no test a configuration error;
 * anything else goes to the learned fallback, which answers UNKNOWN_ERROR (transient) when it is not confident.
 */
export function classifyFailure(
  obs: FailureObservation,
  rules: readonly CompiledRule[] = BUILT_IN_RULES,
  options: ClassifyOptions = {},
): Classification {
  const ev = gatherEvidence(obs);
  let opaque: Classification | undefined;
  for (const rule of rules) {
    const excerpt = matchRule(rule, ev);
    if (excerpt === undefined) continue;
    const decided: Classification = { category: rule.category, kind: rule.kind, rule: rule.name, decidedBy: 'rule', confidence: 1, ...(excerpt ? { excerpt } : {}) };
    // A rule that only says "it failed" (UNKNOWN_ERROR) yields to the runner's own report, when there is one, and
    // to a confident model: "exit status 1: error loading model: unknown architecture" says more than its wrapper.
    if (rule.category === 'UNKNOWN_ERROR') {
      opaque = decided;
      break;
    }
    return decided;
  }
  if (ev.junitFailures.length > 0) {
    const first = ev.junitFailures[0];
    const headline = first ? first.message ?? first.text.split('\n', 1)[0] ?? '' : '';
    return {
      category: 'TEST_EXECUTION_ERROR',
      kind: DEFAULT_KIND.TEST_EXECUTION_ERROR,
      rule: JUNIT_FAILURES_RULE,
      decidedBy: 'rule',
      confidence: 1,
      ...(headline ? { excerpt: excerptOf(headline) } : {}),
    };
  }
  if (ev.junitNoTests) {
    return { category: 'TEST_CONFIGURATION_ERROR', kind: DEFAULT_KIND.TEST_CONFIGURATION_ERROR, rule: JUNIT_NO_TESTS_RULE, decidedBy: 'rule', confidence: 1 };
  }
  const model = options.model === undefined ? defaultModel() : options.model;
  const guess = model
    ? predict(model, {
        ...(obs.message ? { message: obs.message } : {}),
        ...(ev.output ? { outputTail: ev.output } : {}),
        ...(ev.junitText ? { junitText: ev.junitText } : {}),
        ...(obs.exceptionType ? { exceptionType: obs.exceptionType } : {}),
        ...(ev.exitCode !== undefined && !ev.exitFromText ? { exitCode: ev.exitCode } : {}),
        ...(ev.signal !== undefined && !ev.exitFromText ? { signal: ev.signal } : {}),
      })
    : undefined;
  const confidence = guess ? Number(guess.confidence.toFixed(4)) : 0;
  if (guess && guess.confident && guess.category !== 'UNKNOWN_ERROR' && (!opaque || guess.confidence >= OPAQUE_OVERRIDE_CONFIDENCE)) {
    return { category: guess.category, kind: guess.kind, rule: MODEL_RULE, decidedBy: 'model', confidence };
  }
  if (opaque) return opaque;
  return {
    category: 'UNKNOWN_ERROR',
    kind: DEFAULT_KIND.UNKNOWN_ERROR,
    rule: UNRECOGNISED_RULE,
    decidedBy: guess ? 'model' : 'rule',
    confidence,
  };
}
