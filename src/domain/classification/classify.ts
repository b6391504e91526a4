/**
 * classifyFailure: one failure observation in, one category + kind + the rule that decided out.
 * Pure and deterministic (no I/O, no clock), so workflows, activities and the CLI can all call it.
 */
import { DEFAULT_KIND, type ErrorKind } from '../categories';
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
  rule: string;
  /** The text the rule matched, at most EXCERPT_LIMIT characters. */
  excerpt?: string;
}

/** Infrastructure lines near the end matter most, and a bound keeps every regex scan cheap. */
export const OUTPUT_TAIL_LIMIT = 64 * 1024;
/** The message is read from its start (the headline); a runaway message is cut. */
export const MESSAGE_LIMIT = 16 * 1024;
export const JUNIT_TEXT_LIMIT = 32 * 1024;
export const EXCERPT_LIMIT = 200;

/** Decided when a JUnit report lists failures and no rule recognised anything more specific. */
export const JUNIT_FAILURES_RULE = 'junit-reported-failures';
/** Decided when nothing at all is recognisable. */
export const UNRECOGNISED_RULE = 'unrecognised-failure';

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
  exitCode?: number;
  signal?: string;
  exceptionTypes: ReadonlySet<string>;
  junitFailures: readonly JUnitFailure[];
}

/**
 * Exit codes and signals are two views of one fact: a shell reports a process killed by signal n as exit 128+n.
 * Deriving the missing view lets a rule list whichever is natural (`exitCodes: [137]` also matches SIGKILL).
 */
function gatherEvidence(obs: FailureObservation): Evidence {
  const junitFailures = obs.junitXml ? parseJUnitFailures(obs.junitXml) : [];
  const haystack = [
    obs.message ? obs.message.slice(0, MESSAGE_LIMIT) : '',
    obs.outputTail ? tail(obs.outputTail, OUTPUT_TAIL_LIMIT) : '',
    junitText(junitFailures),
  ]
    .filter((part) => part.length > 0)
    .join('\n');

  let signal = normalizeSignal(obs.signal);
  let exitCode = typeof obs.exitCode === 'number' && Number.isInteger(obs.exitCode) ? obs.exitCode : undefined;
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
    exceptionTypes,
    junitFailures,
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
 * With no match: a JUnit report with failures is a test failure; anything else is UNKNOWN_ERROR (transient).
 */
export function classifyFailure(obs: FailureObservation, rules: readonly CompiledRule[] = BUILT_IN_RULES): Classification {
  const ev = gatherEvidence(obs);
  for (const rule of rules) {
    const excerpt = matchRule(rule, ev);
    if (excerpt === undefined) continue;
    return { category: rule.category, kind: rule.kind, rule: rule.name, ...(excerpt ? { excerpt } : {}) };
  }
  if (ev.junitFailures.length > 0) {
    const first = ev.junitFailures[0];
    const headline = first ? first.message ?? first.text.split('\n', 1)[0] ?? '' : '';
    return {
      category: 'TEST_EXECUTION_ERROR',
      kind: DEFAULT_KIND.TEST_EXECUTION_ERROR,
      rule: JUNIT_FAILURES_RULE,
      ...(headline ? { excerpt: excerptOf(headline) } : {}),
    };
  }
  return { category: 'UNKNOWN_ERROR', kind: DEFAULT_KIND.UNKNOWN_ERROR, rule: UNRECOGNISED_RULE };
}
