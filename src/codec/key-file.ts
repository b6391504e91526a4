/**
 * The codec's key file: several AES-256 keys by id and which one encrypts new payloads. Older keys stay in the file
 * so that histories written before a rotation still decode.
 *   {"current": "2026-12", "keys": {"2026-11": "<base64 of 32 bytes>", "2026-12": "..."}}
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const KEY_BYTES = 32;
export const KeyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a key id of 1-64 letters, digits, ".", "_" or "-"');

const Base64Key = z.string().superRefine((value, ctx) => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected standard base64 (A-Z a-z 0-9 + /, padded with =)' });
    return;
  }
  const bytes = Buffer.from(value, 'base64').length;
  if (bytes !== KEY_BYTES) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an AES-256 key of ${KEY_BYTES} bytes, got ${bytes} bytes` });
});

export const KeyFileSchema = z
  .object({
    current: KeyId,
    keys: z.record(KeyId, Base64Key).refine((keys) => Object.keys(keys).length > 0, 'expected at least one key'),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (!(file.current in file.keys)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['current'], message: `"${file.current}" is not one of keys (${Object.keys(file.keys).join(', ')})` });
    }
  });
export type KeyFileContent = z.infer<typeof KeyFileSchema>;

/** A loaded key file: raw keys by id, never printed. */
export interface CodecKeys {
  file: string;
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export class KeyFileError extends Error {
  /** The CLI exits with it: bad input. */
  readonly exitCode = 2;
  constructor(
    readonly file: string,
    problems: string[],
  ) {
    super(`codec key file ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'KeyFileError';
  }
}

/** What `mode` lets others do with a secret file, or undefined when only its owner can reach it. */
export function sharedAccess(mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const who = [mode & 0o070 ? 'its group' : '', mode & 0o007 ? 'others' : ''].filter(Boolean).join(' and ');
  return `its mode is ${(mode & 0o777).toString(8).padStart(4, '0')}: ${who} can reach it`;
}

export function parseKeyFile(text: string, file: string): KeyFileContent {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KeyFileError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  const parsed = KeyFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new KeyFileError(file, parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(file)'}: ${i.message}`));
  }
  return parsed.data;
}

/** Reads and checks a key file; one that group or others can reach is refused (like ssh's private keys). */
export function loadKeyFile(file: string): CodecKeys {
  const resolved = path.resolve(file);
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(resolved);
    text = fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    throw new KeyFileError(resolved, [`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  const shared = process.platform === 'win32' ? undefined : sharedAccess(stat.mode);
  if (shared) throw new KeyFileError(resolved, [`refused: ${shared}; make it private with: chmod 600 ${resolved}`]);
  const content = parseKeyFile(text, resolved);
  return {
    file: resolved,
    currentId: content.current,
    keys: new Map(Object.entries(content.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')])),
  };
}

/** A key id for a new key: the month (2026-12), with a suffix when the file already has one for this month. */
export function newKeyId(existing: Iterable<string>, now = new Date()): string {
  const taken = new Set(existing);
  const base = now.toISOString().slice(0, 7);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) if (!taken.has(`${base}.${n}`)) return `${base}.${n}`;
}

export function newKey(): string {
  return crypto.randomBytes(KEY_BYTES).toString('base64');
}

/** Writes a key file readable by its owner only, atomically (a half-written key file would lose keys). */
export function writeKeyFile(file: string, content: KeyFileContent, opts: { overwrite: boolean }): void {
  const resolved = path.resolve(file);
  KeyFileSchema.parse(content);
  const text = `${JSON.stringify(content, null, 2)}\n`;
  if (!opts.overwrite) {
    fs.writeFileSync(resolved, text, { mode: 0o600, flag: 'wx' });
    return;
  }
  const tmp = `${resolved}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, resolved);
}

/** `dtf codec-key new --out F`: a new file with one key, current. Refuses to overwrite. */
export function createKeyFile(file: string, id?: string): string {
  const keyId = id ?? newKeyId([]);
  try {
    writeKeyFile(file, { current: keyId, keys: { [keyId]: newKey() } }, { overwrite: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(path.resolve(file), ['already exists; add a key to it with --add-to instead']);
    throw err;
  }
  return keyId;
}

/** `dtf codec-key new --add-to F`: a new key in an existing file, current unless told otherwise; old keys stay. */
export function addKeyToFile(file: string, opts: { id?: string; makeCurrent?: boolean } = {}): string {
  const loaded = loadKeyFile(file);
  const content = parseKeyFile(fs.readFileSync(loaded.file, 'utf8'), loaded.file);
  const keyId = opts.id ?? newKeyId(Object.keys(content.keys));
  if (keyId in content.keys) throw new KeyFileError(loaded.file, [`keys.${keyId}: already exists; keys are never replaced (histories written with it would stop decoding)`]);
  content.keys[keyId] = newKey();
  if (opts.makeCurrent !== false) content.current = keyId;
  writeKeyFile(loaded.file, content, { overwrite: true });
  return keyId;
}

/** `dtf codec-key current F ID`: switch which key encrypts (a key staged with --keep-current). */
export function setCurrentKey(file: string, id: string): void {
  const loaded = loadKeyFile(file);
  const content = parseKeyFile(fs.readFileSync(loaded.file, 'utf8'), loaded.file);
  if (!(id in content.keys)) throw new KeyFileError(loaded.file, [`current: "${id}" is not one of keys (${Object.keys(content.keys).join(', ')})`]);
  content.current = id;
  writeKeyFile(loaded.file, content, { overwrite: true });
}
