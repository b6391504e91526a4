/**
 * Features of the learned fallback: hashed word unigrams and bigrams, camelCase / dotted-name parts and character
 * n-grams of distinct words, plus the exit code and signal. Shared by the runtime model and the training script, so
 * both see exactly the same vector. Pure and bounded: at most MODEL_TEXT_LIMIT characters are read however long the
 * output tail is, so the model costs the same on a 64 KiB tail as on a one-line message.
 */

/** log2 of the number of hash buckets. */
export const FEATURE_BITS = 15;
export const FEATURE_DIM = 1 << FEATURE_BITS;

/** What the model reads of the message (head and tail of it), the output tail and error-looking lines. */
const MESSAGE_HEAD = 3000;
const MESSAGE_TAIL = 1500;
const OUTPUT_TAIL = 1000;
const ERROR_LINES_BUDGET = 1000;
export const MODEL_TEXT_LIMIT = MESSAGE_HEAD + MESSAGE_TAIL + OUTPUT_TAIL + ERROR_LINES_BUDGET + 1024;

export interface ModelInput {
  message?: string;
  outputTail?: string;
  /** JUnit failure text, already extracted. */
  junitText?: string;
  exceptionType?: string;
  exitCode?: number;
  signal?: string;
}

/**
 * Words that mark a line of a long output as worth reading: what an on-call engineer's eye (and every rule) looks
 * for. Matched on a lower-cased copy: one short alternation is several times cheaper on 64 KiB than a
 * case-insensitive one.
 */
const ERROR_MARKER =
  /error|exception|fail|fatal|fault|killed|denied|refused|time ?out|timed out|deadline|not found|no such|abort|panic|invalid|unable|cannot|could(?:n't| not)|oom|memory|signal|sig[a-z]{3}|exit|assert|expected|received|no space|quota|busy|reset|unavailable|too many|lost|xid|nvrm|ecc|core dumped|throttl|exceeded|exhausted|evicted|preempt|heartbeat|broken pipe|certificate|module|unrecogni|unknown|missing/g;

/**
 * The lines of `text` that carry an error marker (one linear scan), the last ones kept first within `budget`
 * characters, in their original order.
 */
export function errorLines(text: string, budget: number): string {
  const lower = text.toLowerCase();
  // Lower-casing keeps positions for all but a few non-ASCII letters; then scan the text itself (same markers).
  const scanned = lower.length === text.length ? lower : text;
  const lines: string[] = [];
  ERROR_MARKER.lastIndex = 0;
  for (let m = ERROR_MARKER.exec(scanned); m !== null; m = ERROR_MARKER.exec(scanned)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    let end = text.indexOf('\n', m.index);
    if (end < 0) end = text.length;
    lines.push(text.slice(Math.max(start, end - 400), end));
    if (end + 1 >= text.length) break;
    ERROR_MARKER.lastIndex = end + 1;
  }
  ERROR_MARKER.lastIndex = 0;
  let size = 0;
  let first = lines.length;
  while (first > 0 && size + (lines[first - 1]?.length ?? 0) + 1 <= budget) {
    first -= 1;
    size += (lines[first]?.length ?? 0) + 1;
  }
  return lines.slice(first).map((l) => `${l}\n`).join('');
}

function headAndTail(text: string, head: number, tail: number): string {
  if (text.length <= head + tail) return text;
  return `${text.slice(0, head)}\n${text.slice(text.length - tail)}`;
}

/** The bounded text the model reads. */
export function modelText(input: ModelInput): string {
  const parts: string[] = [];
  if (input.exceptionType) parts.push(input.exceptionType);
  if (input.message) parts.push(headAndTail(input.message, MESSAGE_HEAD, MESSAGE_TAIL));
  if (input.outputTail) {
    const out = input.outputTail;
    if (out.length <= OUTPUT_TAIL + ERROR_LINES_BUDGET) parts.push(out);
    else {
      // Error-looking lines, then the very end of the output.
      parts.push(errorLines(out.slice(0, out.length - OUTPUT_TAIL), ERROR_LINES_BUDGET), out.slice(out.length - OUTPUT_TAIL));
    }
  }
  if (input.junitText) parts.push(input.junitText.slice(0, 1024));
  return parts.join('\n');
}


/** Finer concepts: one taxonomy signal each, in the many spellings tools use for it. */
const FINER_CONCEPTS: readonly [RegExp, string][] = [
  [/connection refused|econnrefused|actively refused|refused to connect/, 'refused'],
  [/connection reset|econnreset|reset by peer|socket hang up|forcibly closed|connection_forced|closed by (?:the )?remote|remote end closed|connection (?:was )?closed|eof occurred/, 'reset'],
  [/lost connection|connection (?:to [^\n]{1,40})?lost|lost contact|no longer reachable|quarantined|went away|channel (?:is )?clos|disconnected from|heartbeat/, 'lost'],
  [/too many connections|too many clients|max(?:imum)? (?:number of )?(?:clients|connections)|connection slots|server is busy|overloaded|service unavailable|\b503\b|try again later/, 'capacity'],
  [/too many requests|\b429\b|rate[ -]?limit|throttl|slow ?down|reduce your request rate|requestlimitexceeded/, 'rate'],
  [/segmentation fault|segfault|sigsegv|core dumped|access violation|sigabrt|illegal memory access|bus error|unexpectedly found nil|fatal error: |panic: |stack overflow/, 'segv'],
  [/no module named|cannot find module|module not found|modulenotfound|importerror|classnotfound|noclassdeffound|cannot find package|could not (?:find|load) (?:a )?(?:package|module|library)|not installed|undefined symbol|shared object|library not loaded|go\.sum entry/, 'module'],
  [/could not be resolved|unsatisf|no matching (?:distribution|package|version|manifest)|version solving|conflicts? with|requires [\w./-]+ [<>=^~]/, 'resolve'],
  [/interpreter|python ?\d\.\d+ (?:not found|is not installed)|executable doesn'?t exist|command not found|not recognized as an internal|no such file or directory/, 'executable'],
  [/only supports|not compatible|incompatible|too old|newer version|unknown model architecture|unsupported (?:version|architecture)|requires (?:a )?newer/, 'version-need'],
  [/unrecognized|unknown (?:option|argument|flag|key|field|parameter)|unexpected (?:argument|keyword|key)|invalid (?:value|option|argument|choice|configuration)|syntax error|parse error|schema|validation error|must be (?:one of|a|an|set)/, 'config-invalid'],
  [/no (?:cuda-capable |supported |nvidia )?(?:gpus?|devices?) (?:was |were )?(?:found|available|detected)|not in the list of (?:\w+ )?available|not registered|driver version is insufficient|no nvidia driver|machine only has|cuda is not available|could not find any (?:gpu|device)/, 'no-device'],
  [/compute capability|\bsm_\d+|only supports [\w ]*(?:gpus?|devices?) or newer|ampere|illegal instruction|sigill|exec format error|avx/, 'capability-need'],
  [/xid|\becc\b|edac|machine check|hardware error|thermal|fallen off the bus|pcie|\baer\b|i\/o error|nvme|medium error|uncorrectable|corrected error/, 'hardware-fault'],
  [/resources exhausted|exhausted on \d+ nodes?|insufficient (?:cpu|memory|gpu|resources)|unschedulable|failed to place|no nodes? (?:are )?available|didn'?t match/, 'placement'],
  [/failed asserting|assertion(?:error)? failed|expected[^\n]{1,80}(?:but|got|received|actual|to (?:be|equal))|tests? did not pass|\d+ fail(?:ed|ures?|ing)\b/, 'assertion'],
  [/being used by another process|resource busy|ebusy|text file busy|target is busy|device is busy|directory not empty|failed to remove|unable to delete|cannot remove|rmtree/, 'busy-remove'],
  [/allowed memory size|heap limit|data too large|metaspace|malloc|bad_?alloc|cannot allocate memory|memory (?:limit|exhausted)|out of memory/, 'memory-exhausted'],
  [/deadline exceeded|timed out after|timeout of \d+ ?m?s|took longer than|maximum execution time|time ?limit|did not (?:finish|complete|respond) (?:in|within)/, 'deadline'],
  [/killed by signal|signal: killed|oom-?kill|exit (?:code|status) 137|return code -9|negsignal|terminated by signal|received signal|sigterm/, 'signalled'],
  [/preempt|evict|spot instance|interrupted by|(?:drained|cordoned)|shutdown signal|being shut down/, 'preempted'],
  [/permission denied|access denied|eacces|\beperm\b|operation not permitted|read-only file system/, 'denied'],
  [/no space left|disk quota|enospc|edquot|file ?system (?:is )?full|disk (?:is )?full/, 'disk-full'],
];

/**
 * Concepts of the taxonomy, spelled many ways across tools: a concept feature lets what the model learnt from one
 * family's wording carry over to another's ("OutOfResources", "ERROR_OUT_OF_DEVICE_MEMORY", "ENOMEM").
 */
const CONCEPTS: readonly [RegExp, string][] = [
  [/out of (?:\w+ )?memory|\boom\b|outofmemory|alloc\w* fail|failed to alloc|memory (?:limit|pressure|exhausted)|enomem|insufficient memory/, 'memory'],
  [/no space|disk (?:full|quota)|quota exceeded|enospc|edquot|too many open files|emfile|ulimit|rlimit|limit reached/, 'limit'],
  [/timed? ?out|timeout|deadline|etimedout|did not respond|unresponsive|waiting for/, 'timeout'],
  [/connection (?:refused|reset|closed|aborted|error|failed|lost)|econn\w+|socket|broken pipe|unreachable|disconnect|peer|handshake|certificate|ssl|tls|dns|resolve host|name resolution/, 'network'],
  [/heartbeat|marked (?:as )?dead|node (?:lost|died|down|failure)|worker (?:lost|died)|lost (?:connection|worker|executor|node)|preempt|evicted|notready/, 'lost-node'],
  [/segfault|segmentation|sigsegv|sigabrt|core dumped|fatal error|crash|aborted|sigkill|killed|signal \d+/, 'crash'],
  [/too many requests|\b429\b|\b503\b|rate.?limit|throttl|busy|overload|capacity|slow ?down/, 'overload'],
  [/not found|no module|no such|cannot find|could not find|missing|not installed|undefined symbol|cannot load|could not load|unable to load|failed to load/, 'missing'],
  [/version|incompatible|mismatch|not compatible|requires? \S+ ?[<>=]/, 'version'],
  [/resolv|conflict|unsatisf|solver|dependenc|requirement/, 'resolver'],
  [/invalid|unknown|unrecogni[sz]ed|unsupported|not supported|must be|illegal argument|bad value|malformed|expected \w+ but|wrong/, 'invalid'],
  [/config|option|argument|parameter|setting|flag|environment variable|\.ya?ml|\.toml|\.json/, 'config'],
  [/permission|denied|unauthori[sz]ed|forbidden|credential|authenticat|access key|token/, 'auth'],
  [/assert|expected|actual|mismatch|differ|not equal|tolerance|failures?:|\bfailed\b.*\btests?\b|\btests?\b.*\bfailed\b/, 'test-failed'],
  [/\bgpu\b|cuda|rocm|\bhip\b|\bxpu\b|\bmps\b|\btpu\b|nvidia|nvml|accelerator|device/, 'device'],
  [/no (?:\w+ )?(?:gpus?|devices?) (?:found|available|detected)|not available|unavailable|busy or unavailable|cannot be scheduled|insufficient/, 'unavailable'],
  [/compute capability|\bsm_\d+|architecture|instruction|avx|not supported on|does not support|arch/, 'capability'],
  [/xid|ecc|thermal|temperature|throttled|fallen off|machine check|hardware error|i\/o error/, 'hardware'],
  [/cleanup|clean up|teardown|tear down|leak|unclosed|not destroyed|busy.*remove|remove.*busy|directory not empty|in use by another/, 'cleanup'],
  [/does not exist|doesn't exist|not exist|no such file|not found at|cannot open/, 'not-exist'],
  [/syntax ?error|parse error|failed to parse|unexpected token|malformed|invalid (?:json|yaml|toml|syntax)/, 'syntax'],
  [/compil|linker|\bld\b|build failed|ninja|cmake|make\[\d|gcc|g\+\+|nvcc|wheel/, 'build'],
  [/\bimage\b|manifest|registry|\bpull\b|tag/, 'image'],
  [/\bkill(?:ed)?\b|sigkill|signal 9|terminated|exit (?:code|status) 137/, 'killed'],
  [/schedul|pending|queue|slots?|allocate resources|node configuration|capacity/, 'scheduling'],
  ...FINER_CONCEPTS,
];

/** How many buckets each concept hashes to: a concept weighs as much as sixteen words (chosen by cross-validation by family). */
const CONCEPT_REPEATS = 16;

/** 32-bit FNV-1a. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const TOKEN = /[A-Za-z_][A-Za-z0-9_]*|\d+/g;

/**
 * Function words that say nothing about a failure: no unigram of their own (they stay inside bigrams, where "not
 * found" or "out of" mean something). Chosen by cross-validation by family (bench/classify-cv.ts).
 */
const STOP_WORDS: ReadonlySet<string> = new Set(['the', 'a', 'an', 'of', 'to', 'in', 'is', 'on', 'for', 'at', 'by', 'and', 'or', 'be', 'was', 'it', 'this', 'that', 'with', 'as', 'from', 'are', 'not']);
const CAMEL_PART = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g;

/**
 * Volatile spans become one placeholder word each: a URL, an IP address, a UUID, a hex id or address, a file path.
 * Their pieces (`usr`, `site`, `packages`, `0x7f3a…`) name a machine or a run, not a failure, and would let the
 * model learn one family's install layout. The last path segment's extension is kept (`.so`, `.py`, `.yaml` say
 * something about what was missing).
 */
const VOLATILE =
  /\b[a-z][a-z0-9+.-]{1,10}:\/\/[^\s'"<>()]+|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b|(?:[A-Za-z]:)?(?:\.{0,2}[\\/][\w.@+-]+){2,}/gi;

function placeholder(span: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(span)) return ' urlspan ';
  if (/^0x/i.test(span) || /^[0-9a-f]{12,}$/i.test(span) || /^[0-9a-f]{8}-/i.test(span)) return ' hexspan ';
  if (/^(?:\d{1,3}\.){3}\d{1,3}/.test(span)) return ' ipspan ';
  const ext = /\.([A-Za-z][A-Za-z0-9]{0,5})(?:\.\d+)*$/.exec(span);
  return ext ? ` pathspan ext${(ext[1] ?? '').toLowerCase()} ` : ' pathspan ';
}

export function normaliseVolatile(text: string): string {
  VOLATILE.lastIndex = 0;
  return text.replace(VOLATILE, placeholder);
}

function numberToken(digits: string): string {
  // Short numbers carry meaning (exit 137, HTTP 429, errno 28, Xid 79); long ones are ids, sizes, timestamps.
  return digits.length <= 3 ? `#${String(Number(digits))}` : `#n${Math.min(digits.length, 6)}`;
}

/**
 * Sorted, distinct bucket indices of the features of `input`. Binary features; the model scales them by
 * 1/sqrt(count) so a long text does not overwhelm the bias.
 */
export function featureIndices(input: ModelInput): number[] {
  const text = normaliseVolatile(modelText(input));
  const buckets = new Set<number>();
  const add = (feature: string): void => {
    buckets.add(hash(feature) & (FEATURE_DIM - 1));
  };
  const words = new Set<string>();
  let previous = '^';
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    const raw = m[0];
    let word: string;
    if (raw.charCodeAt(0) <= 57) word = numberToken(raw);
    else {
      word = raw.toLowerCase();
      if (word.length > 40) word = word.slice(0, 40);
      if (!words.has(word)) {
        words.add(word);
        // camelCase and snake_case parts: OutOfMemoryError → out, of, memory, error; HIPOutOfMemory → hip, ...
        if (raw.length > 3 && (/[a-z][A-Z]|[A-Z]{2}[a-z]|_/.test(raw) || /\d/.test(raw))) {
          CAMEL_PART.lastIndex = 0;
          const parts = raw.replace(/_/g, ' ').match(CAMEL_PART) ?? [];
          for (const p of parts) if (p.length > 1) add(`p:${p.toLowerCase()}`);
        }
      }
    }
    if (!STOP_WORDS.has(word)) add(`w:${word}`);
    if (previous !== word) add(`b:${previous} ${word}`);
    previous = word;
  }
  add(`b:${previous} $`);
  // Character 4-grams of distinct words (with boundaries) carry over to unseen spellings and compounds.
  for (const word of words) {
    if (word.length < 4) continue;
    const padded = `<${word}>`;
    for (let i = 0; i + 4 <= padded.length; i += 1) add(`c:${padded.slice(i, i + 4)}`);
  }
  const lower = text.toLowerCase();
  for (const [pattern, concept] of CONCEPTS) {
    if (pattern.test(lower)) for (let r = 0; r < CONCEPT_REPEATS; r += 1) add(`k${r}:${concept}`);
  }
  if (input.exitCode !== undefined) {
    add(`exit:${input.exitCode}`);
    add(input.exitCode > 128 && input.exitCode < 160 ? 'exit:signal' : input.exitCode === 0 ? 'exit:zero' : 'exit:other');
  }
  if (input.signal) add(`sig:${input.signal}`);
  // No words, no model: an exit code alone is the rule table's to read.
  if (words.size === 0) return [];
  add('bias:text');
  return [...buckets].sort((a, b) => a - b);
}
