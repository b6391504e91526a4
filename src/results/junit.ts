/**
 * JUnit XML reports → per-case results. Parsed with fast-xml-parser (no external entities, no network) and read from a
 * path or a glob relative to the task's workspace. Dialects: pytest (`--junitxml`), jest-junit, Maven Surefire and
 * Failsafe (runner reruns: `flakyFailure`/`flakyError` on a case that finally passed, `rerunFailure`/`rerunError` on
 * one that kept failing), go-junit-report, cargo2junit; `<testsuites>` and `<testsuite>` nested to any depth.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { glob, isDynamicPattern } from 'tinyglobby';
import { CaseRun, CaseStatus, ParsedCase, SummarizeOptions, TestsSummary, caseId, summarizeCases } from '../domain/test-results';

/** A report bigger than this is not read (a runner gone wrong); the problem is reported instead. */
export const JUNIT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Most report files one pattern may match. */
export const JUNIT_MAX_FILES = 1000;

export class JunitParseError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'JunitParseError';
  }
}

const ARRAY_TAGS = new Set(['testsuites', 'testsuite', 'testcase', 'failure', 'error', 'skipped', 'flakyFailure', 'flakyError', 'rerunFailure', 'rerunError']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  cdataPropName: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ARRAY_TAGS.has(name),
});

type Node = Record<string, unknown>;

const asNodes = (v: unknown): Node[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => (typeof x === 'object' && x !== null ? (x as Node) : { '#text': String(x) }));
const attr = (n: Node, name: string): string | undefined => {
  const v = n[`@_${name}`];
  return v === undefined ? undefined : String(v);
};

/** Seconds as JUnit writes them ("0.034", "1,234.5", "") → milliseconds. */
export function secondsToMs(value: string | undefined): number {
  if (!value) return 0;
  const n = Number(value.replace(/,/g, '').trim());
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1_000_000) / 1000 : 0;
}

function textOf(n: Node): string {
  const parts: string[] = [];
  const t = n['#text'];
  if (t !== undefined) parts.push(String(t));
  // Surefire puts the trace of a rerun in <stackTrace>.
  for (const st of asNodes(n.stackTrace)) if (st['#text'] !== undefined) parts.push(String(st['#text']));
  return parts.join('\n');
}

/** The message of a failure-like element: its `message` attribute, else its text; with its `type` when the message lacks it. */
function messageOf(n: Node): string {
  const message = attr(n, 'message')?.trim();
  const type = attr(n, 'type')?.trim();
  const text = textOf(n).trim();
  const head = message || text;
  if (!head) return type ?? '';
  return type && !head.includes(type) && !/^(Failed|Skipped)$/.test(type) ? `${type}: ${head}` : head;
}

function caseOf(tc: Node, suiteName: string | undefined): ParsedCase {
  const name = attr(tc, 'name') ?? '';
  const classname = attr(tc, 'classname') ?? attr(tc, 'class') ?? suiteName;
  const failures = asNodes(tc.failure);
  const errors = asNodes(tc.error);
  const skipped = asNodes(tc.skipped);
  const flaky = [...asNodes(tc.flakyFailure).map((n) => ({ n, s: 'failed' as const })), ...asNodes(tc.flakyError).map((n) => ({ n, s: 'errored' as const }))];
  const reruns = [...asNodes(tc.rerunFailure).map((n) => ({ n, s: 'failed' as const })), ...asNodes(tc.rerunError).map((n) => ({ n, s: 'errored' as const }))];
  let status: CaseStatus;
  let message: string | undefined;
  let runs: CaseRun[] | undefined;
  if (errors.length) {
    status = 'errored';
    message = messageOf(errors[0]);
  } else if (failures.length) {
    status = 'failed';
    message = messageOf(failures[0]);
  } else if (skipped.length) {
    status = 'skipped';
    message = messageOf(skipped[0]) || undefined;
  } else if (flaky.length) {
    status = 'flaky';
    message = messageOf(flaky[0].n);
  } else {
    status = 'passed';
  }
  if (flaky.length && status === 'flaky') runs = [...flaky.map((f) => ({ status: f.s })), { status: 'passed' }];
  if (reruns.length && (status === 'failed' || status === 'errored')) runs = [{ status }, ...reruns.map((r) => ({ status: r.s }))];
  const c: ParsedCase = { id: caseId(classname, name), status, durationMs: secondsToMs(attr(tc, 'time')) };
  if (message) c.message = message;
  if (runs) c.runs = runs;
  return c;
}

function walkSuite(suite: Node, out: ParsedCase[]): void {
  const name = attr(suite, 'name');
  for (const tc of asNodes(suite.testcase)) out.push(caseOf(tc, name));
  for (const nested of asNodes(suite.testsuite)) walkSuite(nested, out);
  for (const group of asNodes(suite.testsuites)) walkSuite(group, out);
}

/** Every case of one JUnit XML document, passed ones included, in document order. Throws JunitParseError. */
export function parseJunitXml(xml: string, source = 'junit report'): ParsedCase[] {
  if (!xml.trim()) throw new JunitParseError(source, 'empty file');
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw new JunitParseError(source, `not well-formed XML (${(err as Error).message.split('\n')[0]})`);
  }
  const roots = [...asNodes(doc.testsuites), ...asNodes(doc.testsuite)];
  if (!roots.length) throw new JunitParseError(source, 'no <testsuites> or <testsuite> element');
  const out: ParsedCase[] = [];
  for (const root of roots) walkSuite(root, out);
  return out;
}

export interface JunitReadResult {
  /** Files read, relative to cwd, sorted. */
  files: string[];
  cases: ParsedCase[];
  /** Files that matched but could not be read or parsed, and a pattern that matched nothing. */
  problems: string[];
}

/**
 * Reads the reports a `junit:` value names: a path or a glob (`reports/**\/*.xml`), relative to `cwd` (the task's
 * workspace). Absolute paths are allowed; matches are files only, sorted, at most JUNIT_MAX_FILES.
 */
export async function readJunitReports(pattern: string, cwd: string): Promise<JunitReadResult> {
  const problems: string[] = [];
  let files: string[];
  if (isDynamicPattern(pattern)) {
    const abs = path.isAbsolute(pattern);
    files = (await glob([pattern], { cwd, absolute: abs, onlyFiles: true, dot: false, followSymbolicLinks: false, expandDirectories: false })).sort();
  } else {
    files = [pattern];
  }
  if (files.length > JUNIT_MAX_FILES) {
    problems.push(`${pattern}: ${files.length} files matched; read the first ${JUNIT_MAX_FILES}`);
    files = files.slice(0, JUNIT_MAX_FILES);
  }
  const cases: ParsedCase[] = [];
  const read: string[] = [];
  for (const file of files) {
    const full = path.resolve(cwd, file);
    try {
      const stat = await fs.stat(full);
      if (!stat.isFile()) throw new Error('not a file');
      if (stat.size > JUNIT_MAX_FILE_BYTES) throw new Error(`${stat.size} bytes, over the ${JUNIT_MAX_FILE_BYTES}-byte limit`);
      cases.push(...parseJunitXml(await fs.readFile(full, 'utf8'), file));
      read.push(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push(err instanceof JunitParseError ? err.message : `${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
    }
  }
  if (!files.length) problems.push(`${pattern}: no file matched`);
  return { files: read, cases, problems };
}

/** The bounded `tests` summary of the reports a pattern names, or undefined when none could be read. */
export async function junitSummary(pattern: string, cwd: string, opts: SummarizeOptions = {}): Promise<{ tests?: TestsSummary; files: string[]; problems: string[] }> {
  const { files, cases, problems } = await readJunitReports(pattern, cwd);
  return { tests: files.length ? summarizeCases(cases, opts) : undefined, files, problems };
}
