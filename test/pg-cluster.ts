/**
 * A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free port under a temp dir, stopped and removed
 * afterwards. Run as root, it runs the server as the `postgres` user (initdb refuses root). Returns the reason it
 * cannot start instead of throwing, so the test can skip and say why.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PgCluster {
  url: string;
  stop(): void;
}

function findBin(name: string): string | undefined {
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  for (const v of fs.readdirSync(base).sort().reverse()) {
    const p = path.join(base, v, 'bin', name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPgCluster(): Promise<PgCluster | { skip: string }> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  if (!initdb || !pgCtl) return { skip: 'initdb/pg_ctl not found (Debian: apt-get install postgresql)' };
  const asRoot = process.getuid?.() === 0;
  let runAs: string[] = [];
  if (asRoot) {
    const hasUser = spawnSync('id', ['-u', 'postgres']).status === 0;
    const runuser = findBin('runuser');
    if (!hasUser || !runuser) return { skip: 'running as root and there is no postgres user (or runuser) to run the server as' };
    runAs = [runuser, '-u', 'postgres', '--'];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-pg-'));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock, { mode: 0o777 });
  fs.chmodSync(sock, 0o777);
  if (asRoot) spawnSync('chown', ['-R', 'postgres', dir]);
  const run = (argv: string[]) => {
    const [cmd, ...args] = [...runAs, ...argv];
    return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  };
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  const init = run([initdb, '-D', data, '-U', 'dtf', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) {
    cleanup();
    return { skip: `initdb failed: ${(init.stderr || init.stdout || String(init.error)).trim().split('\n').slice(-2).join(' ')}` };
  }
  const port = await freePort();
  const start = run([pgCtl, '-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', '-o', `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  if (start.status !== 0) {
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-3).join(' ') : '';
    cleanup();
    return { skip: `pg_ctl start failed: ${(start.stderr || start.stdout).trim()} ${log}` };
  }
  return {
    url: `postgres://dtf@127.0.0.1:${port}/postgres`,
    stop: () => {
      run([pgCtl, '-D', data, '-m', 'fast', '-w', 'stop']);
      cleanup();
    },
  };
}
