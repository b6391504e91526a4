/**
 * Secret scrubbing for anything that leaves the worker (error reports, output tails, env dumps).
 * Pure and regex-only, with bounded quantifiers so a hostile or huge output cannot make it slow.
 */

export const REDACTED = '[REDACTED]';

/** Known secret values shorter than this are not replaced literally: "1" or "true" would shred the text. */
export const MIN_KNOWN_SECRET_CHARS = 6;

type Replacer = (match: string, ...groups: string[]) => string;

interface SecretPattern {
  name: string;
  pattern: RegExp;
  replace: string | Replacer;
  /** Skip the row unless the text contains this: keeps the common case (no key block) to one substring scan. */
  hint?: string;
}

const PEM_BEGIN = String.raw`-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----`;
const PEM_END = String.raw`-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----`;

/** Key names whose value is a secret in `key=value`, `key: value` and JSON/YAML/Python-repr text. */
const SECRET_KEY_WORDS =
  'password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|secret[_-]?key|credentials?';
/** Tokenizer settings print as "eos_token: </s>" in ML logs; they are vocabulary, not credentials. */
const TOKENIZER_KEY = /(?:^|[_.-])(?:eos|bos|pad|unk|sep|cls|mask|special|additional_special)_token$/i;
/** A value that is already a redaction marker is left alone, so redaction is idempotent. */
const NOT_REDACTED = String.raw`(?!\[REDACTED\])`;
const VALUE = String.raw`("[^"\n]{0,1024}"|'[^'\n]{0,1024}'|[^\s"',;&}\]]{1,1024})`;

function keepQuotes(value: string): string {
  const q = value[0];
  return (q === '"' || q === "'") && value.length >= 2 && value.endsWith(q) ? `${q}${REDACTED}${q}` : REDACTED;
}

/** Applied in order: whole blocks and URLs first, so later, narrower rows see already-scrubbed text. */
const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    name: 'private key block',
    pattern: new RegExp(`${PEM_BEGIN}[\\s\\S]*?${PEM_END}`, 'g'),
    replace: REDACTED,
    hint: 'PRIVATE KEY',
  },
  // An output tail can start or end inside a key block; the half we have is still secret.
  { name: 'private key cut at start', pattern: new RegExp(`^[\\s\\S]*${PEM_END}`), replace: REDACTED, hint: 'PRIVATE KEY' },
  { name: 'private key cut at end', pattern: new RegExp(`${PEM_BEGIN}[\\s\\S]*$`), replace: REDACTED, hint: 'PRIVATE KEY' },
  {
    // Either half can be the token (https://TOKEN:x-oauth-basic@github.com), so both go.
    name: 'url credentials',
    pattern: /\b([a-z][a-z0-9+.-]{0,15}:\/\/)[^\s/@:'"]{1,256}:[^\s/@'"]{1,256}@/gi,
    replace: `$1${REDACTED}@`,
  },
  {
    name: 'authorization header',
    pattern: new RegExp(
      String.raw`\b(authorization["']?[ \t]*[:=][ \t]*["']?)(?:(bearer|basic|token|digest)[ \t]+)?${NOT_REDACTED}[^\s"',;]{1,4096}`,
      'gi',
    ),
    replace: (_m, prefix, scheme) => `${prefix}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  },
  { name: 'bearer token', pattern: /\b(bearer)[ \t]+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,4096}/gi, replace: `$1 ${REDACTED}` },
  {
    name: 'secret key=value',
    pattern: new RegExp(
      String.raw`(?<![\w.-])([\w.-]{0,64}?(?:${SECRET_KEY_WORDS}))(["']?[ \t]*[:=][ \t]*)${NOT_REDACTED}${VALUE}`,
      'gi',
    ),
    replace: (match, key, separator, value) =>
      TOKENIZER_KEY.test(key) ? match : `${key}${separator}${keepQuotes(value)}`,
  },
  {
    name: 'secret command-line flag',
    pattern: new RegExp(
      String.raw`(?<![\w-])(--?[\w-]{0,64}?(?:password|passwd|passphrase|secret|token|api-key|apikey|access-key|private-key))([ \t]+)(?!-)${NOT_REDACTED}${VALUE}`,
      'gi',
    ),
    replace: (_m, flag, space, value) => `${flag}${space}${keepQuotes(value)}`,
  },
  { name: 'aws access key id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  { name: 'github token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, replace: REDACTED },
  { name: 'github fine-grained token', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g, replace: REDACTED },
  { name: 'gitlab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,255}/g, replace: REDACTED },
  { name: 'hugging face token', pattern: /\bhf_[A-Za-z0-9]{30,255}\b/g, replace: REDACTED },
  { name: 'slack token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,255}|\bxapp-[A-Za-z0-9-]{10,255}/g, replace: REDACTED },
  { name: 'openai/anthropic key', pattern: /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,255}/g, replace: REDACTED },
  { name: 'stripe key', pattern: /\b[rs]k_live_[A-Za-z0-9]{16,255}/g, replace: REDACTED },
  { name: 'google api key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: REDACTED },
  { name: 'npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g, replace: REDACTED },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,4096}/g, replace: REDACTED },
];

export interface RedactOptions {
  /** Literal secret values to remove wherever they appear (e.g. from `secretValuesOf(env)`): catches tokens with no recognisable shape. */
  knownSecrets?: readonly string[];
}

/** Replaces tokens, passwords, keys and credentialed URLs in free text with `[REDACTED]`. */
export function redactSecrets(text: string, options: RedactOptions = {}): string {
  let out = text;
  const known = [...new Set(options.knownSecrets ?? [])]
    .filter((s) => s.length >= MIN_KNOWN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length); // longest first, so a secret that contains another goes whole
  for (const secret of known) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const { pattern, replace, hint } of SECRET_PATTERNS) {
    if (hint !== undefined && !out.includes(hint)) continue;
    out = typeof replace === 'string' ? out.replace(pattern, replace) : out.replace(pattern, replace);
  }
  return out;
}

/**
 * Env names that hold secrets: *TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, *ACCESS_KEY*, *PRIVATE_KEY*, credentials,
 * and the parts PASS / AUTH / KEY / COOKIE. TOKENIZERS_PARALLELISM and PWD (the working directory) stay readable.
 */
const SENSITIVE_ENV_NAME =
  /TOKENS?(?:_|$)|SECRET|PASSW(?:OR)?D|PASSPHRASE|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SIGNING_?KEY|_PWD$|(?:^|_)(?:PASS|AUTH|KEY|COOKIE)(?:_|$)/i;

export function isSensitiveEnvName(name: string): boolean {
  return SENSITIVE_ENV_NAME.test(name);
}

/** A copy of `env` safe to show: secret-named variables become `[REDACTED]`, the rest are scrubbed as text (DATABASE_URL=postgres://u:p@…). */
export function redactEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    out[name] = isSensitiveEnvName(name) ? REDACTED : redactSecrets(value);
  }
  return out;
}

/** Values of the secret-named variables in `env`, to pass as `knownSecrets` when scrubbing that process's output. */
export function secretValuesOf(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = Object.entries(env)
    .filter(([name, value]) => value !== undefined && value.length >= MIN_KNOWN_SECRET_CHARS && isSensitiveEnvName(name))
    .map(([, value]) => value as string);
  return [...new Set(values)];
}
