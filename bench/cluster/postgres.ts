/**
 * A PostgreSQL server of its own for `npm run cluster`: Debian's package (installed with apt-get when missing),
 * a fresh cluster made with initdb in a temp dir, on a free port of 127.0.0.1 only, password auth (scram) for a
 * superuser with a password made for the run. Run as root, the server runs as the `postgres` user (initdb refuses root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isPortOpen } from '../../src/server/dev-server';

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The postmaster's pid (to check that it is gone after stop()). */
  pid: number;
  dataDir: string;
  logFile: string;
  version: string;
  stop(): Promise<void>;
}

const PG_USER = 'postgres'; // the OS user Debian's package creates

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** The directory holding initdb, pg_ctl and postgres: Debian's /usr/lib/postgresql/<major>/bin (newest), else PATH. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const m of majors) if (fs.existsSync(path.join(root, m, 'bin', 'initdb'))) return path.join(root, m, 'bin');
  const initdb = onPath('initdb');
  return initdb && fs.existsSync(path.join(path.dirname(fs.realpathSync(initdb)), 'pg_ctl')) ? path.dirname(fs.realpathSync(initdb)) : undefined;
}

/** initdb/pg_ctl, installing Debian's `postgresql` package when they are missing and this is a root on Debian. */
export function ensurePostgresInstalled(log: (m: string) => void): string {
  const found = findBinDir();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error('PostgreSQL is not installed (no initdb found); install it (Debian: apt-get install -y postgresql) and run again');
  }
  log('PostgreSQL not found: apt-get install -y postgresql (first run only)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env, encoding: 'utf8', timeout: 900_000 });
  let r = install();
  if (r.status !== 0) {
    // A fresh machine has no package lists yet.
    execFileSync('apt-get', ['update'], { env, stdio: 'pipe', timeout: 600_000 });
    r = install();
  }
  if (r.status !== 0) throw new Error(`apt-get install postgresql failed:\n${(r.stderr || r.stdout).slice(-2000)}`);
  const dir = findBinDir();
  if (!dir) throw new Error('apt-get installed postgresql, but no initdb was found under /usr/lib/postgresql');
  return dir;
}

/** Runs a PostgreSQL binary as the user that owns the data: the `postgres` user when this is root. */
function pgCommand(binDir: string, tool: string, args: string[]): [string, string[]] {
  const bin = path.join(binDir, tool);
  return process.getuid?.() === 0 ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
}

function run(binDir: string, tool: string, args: string[], cwd = os.tmpdir(), timeoutMs = 120_000): string {
  const [cmd, argv] = pgCommand(binDir, tool, args);
  // cwd: a directory the postgres user may enter.
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, cwd });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout || String(r.error ?? '')).slice(-2000)}`);
  return r.stdout;
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.chownSync(p, uid, gid);
  }
}

function osUserIds(name: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`running as root needs the '${name}' OS user to run PostgreSQL (Debian's postgresql package creates it)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(opts: { log: (m: string) => void; logDir: string; user?: string }): Promise<Postgres> {
  const binDir = ensurePostgresInstalled(opts.log);
  const version = run(binDir, 'postgres', ['--version']).trim();
  const user = opts.user ?? 'temporal';
  const password = crypto.randomBytes(18).toString('base64url');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-cluster-pg-'));
  const dataDir = path.join(root, 'data');
  const pwFile = path.join(root, 'pwfile');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = osUserIds(PG_USER);
    chownTree(root, uid, gid);
  }
  // The server writes its log in its own dir (the postgres user may not reach opts.logDir); stop() copies it there.
  const serverLog = path.join(root, 'postgresql.log');
  const logFile = path.join(opts.logDir, 'postgresql.log');
  fs.mkdirSync(opts.logDir, { recursive: true });
  run(binDir, 'initdb', ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync']);
  fs.rmSync(pwFile);
  const port = await freePort();
  // Listen on loopback TCP only; the socket goes in the run's own dir (not /var/run/postgresql, which may not exist).
  const serverOpts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c max_connections=200`;
  const stopServer = () => run(binDir, 'pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  try {
    run(binDir, 'pg_ctl', ['-D', dataDir, '-l', serverLog, '-o', serverOpts, '-w', '-t', '60', 'start']);
    if (!(await isPortOpen('127.0.0.1', port))) throw new Error(`PostgreSQL did not open 127.0.0.1:${port}`);
  } catch (err) {
    try {
      stopServer();
    } catch {
      // it never started
    }
    if (fs.existsSync(serverLog)) fs.copyFileSync(serverLog, logFile);
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}; see ${logFile}`);
  }
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    pid,
    dataDir,
    logFile,
    version,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        stopServer();
      } catch (err) {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        opts.log(`pg_ctl stop failed (${(err as Error).message.split('\n')[0]}); killed ${pid}`);
      }
      if (fs.existsSync(serverLog)) fs.copyFileSync(serverLog, logFile);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
