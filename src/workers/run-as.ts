/**
 * `dtf worker --run-as USER`: test commands (and their teardowns) run as another user than the worker, so a test
 * cannot read the worker's files or signal it. Only root can switch users; the user is looked up once, at start-up,
 * through the system's user database (getent: local users, LDAP, whatever NSS serves).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  /** The user's home: the command's HOME, instead of the worker's. */
  home?: string;
}

/** One `getent passwd` line (`name:x:uid:gid:gecos:home:shell`), or undefined if it is not one. */
export function parsePasswdLine(line: string): Omit<RunAs, 'user'> & { name: string } | undefined {
  const f = line.trim().split(':');
  if (f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0], uid, gid, ...(f[5] ? { home: f[5] } : {}) };
}

export interface ResolveRunAsDeps {
  /** The worker's own uid (default process.getuid()). */
  currentUid?: number;
  /** Looks a user (name or uid) up; returns its passwd line, or undefined when there is no such user. */
  lookup?: (user: string) => string | undefined;
}

function getent(user: string): string | undefined {
  try {
    return execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** Resolves `--run-as USER`; throws a message saying what is wrong (no such user, the worker is not root). */
export function resolveRunAs(user: string, deps: ResolveRunAsDeps = {}): RunAs {
  const entry = parsePasswdLine((deps.lookup ?? getent)(user) ?? '');
  if (!entry) throw new Error(`--run-as ${user}: no such user on this host (getent passwd ${user} finds none)`);
  const currentUid = deps.currentUid ?? process.getuid?.();
  if (currentUid !== 0 && currentUid !== entry.uid) {
    throw new Error(
      `--run-as ${user}: only root can run commands as another user, and this worker runs as uid ${currentUid ?? '?'}; start the worker as root, or run it as ${user} without --run-as`,
    );
  }
  return { user: entry.name, uid: entry.uid, gid: entry.gid, ...(entry.home ? { home: entry.home } : {}) };
}


/**
 * The first directory on the way to `dir` (itself included) that the user may not enter, with its mode; undefined
 * when the user can reach it. A work dir under a private folder (mode 0700) would make every command fail to start.
 */
export function unreachableFor(r: Pick<RunAs, 'uid' | 'gid'>, dir: string, stat: (p: string) => { mode: number; uid: number; gid: number } = fs.statSync): { dir: string; mode: string } | undefined {
  let current = path.resolve(dir);
  for (;;) {
    const s = stat(current);
    const may = r.uid === 0 || (s.uid === r.uid ? s.mode & 0o100 : s.gid === r.gid ? s.mode & 0o010 : s.mode & 0o001);
    if (!may) return { dir: current, mode: `0${(s.mode & 0o777).toString(8)}` };
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
