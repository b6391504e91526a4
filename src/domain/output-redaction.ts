/**
 * One redaction for everything a command prints, wherever it goes (the worker's log line by line, the output tail in
 * results and reports): the task's secretEnv values by name, then the known secret shapes and the secret values of the
 * environment, as error reports scrub them. Pure.
 */
import { redactSecretValues } from './command-env';
import { REDACTED, redactSecrets } from './redact';

export interface OutputRedaction {
  /** The secretEnv values the command got, by the task's name for them: `[redacted:NAME]`. */
  secrets: readonly { name: string; value: string }[];
  /** Further literal values to remove (`secretValuesOf` of the worker's and the task's env): `[REDACTED]`. */
  knownSecrets: readonly string[];
}

/** Scrubs a whole text (an output tail): blocks that span lines (a private key) go whole. */
export function redactOutput(text: string, r: OutputRedaction): string {
  return redactSecrets(r.secrets.length ? redactSecretValues(text, r.secrets) : text, { knownSecrets: r.knownSecrets });
}

const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
const KEY_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

/**
 * A redactor for one output stream, line by line: like redactOutput, and it remembers an open private key block, so
 * the key's middle lines (plain base64, no shape of their own) are redacted too until its END line.
 */
export function lineRedactor(r: OutputRedaction): (line: string) => string {
  let inKey = false;
  return (line) => {
    if (inKey) {
      if (!KEY_END.test(line)) return REDACTED;
      inKey = false;
      return redactOutput(line, r);
    }
    const begin = KEY_BEGIN.exec(line);
    if (begin && !KEY_END.test(line.slice(begin.index))) inKey = true;
    return redactOutput(line, r);
  };
}
