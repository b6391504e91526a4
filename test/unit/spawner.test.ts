/** The command spawner: commands started from a small process of its own behave as if started directly. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandSpawner, RunningCommand, spawnDirect } from '../../src/activities/spawner';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function collect(cmd: RunningCommand): Promise<{ out: string; err: string; code: number | null; signal: string | null; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let error: NodeJS.ErrnoException | undefined;
    cmd.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    cmd.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    cmd.once('error', (e) => {
      error = e;
      if (cmd.pid === undefined) resolve({ out, err, code: null, signal: null, error });
    });
    cmd.once('close', (code, signal) => resolve({ out, err, code, signal, error }));
  });
}

/** Running (a zombie waiting for its new parent to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('CommandSpawner', () => {
  let spawner: CommandSpawner;
  beforeEach(() => (spawner = new CommandSpawner()));
  afterEach(() => spawner.close());

  it('relays output, exit code, environment and working directory, as a direct spawn does', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-spawner-'));
    const script = ['-c', 'echo "out $FOO $(pwd)"; echo err >&2; head -c 300000 /dev/zero | tr "\\0" x; exit 3'];
    const via = await collect(spawner.start('/bin/sh', script, { cwd, env: { ...env, FOO: 'bar' } }));
    const direct = await collect(spawnDirect('/bin/sh', script, { cwd, env: { ...env, FOO: 'bar' } }));
    expect(via.code).toBe(3);
    expect(via.out.startsWith(`out bar ${fs.realpathSync(cwd)}\n`)).toBe(true);
    expect(via.out.length).toBe(direct.out.length); // large output arrives whole, in order
    expect(via.out).toBe(direct.out);
    expect(via.err).toBe('err\n');
  });

  it('reports a command that cannot start with its errno code, and no exit', async () => {
    const r = await collect(spawner.start('/no/such/program', [], { cwd: os.tmpdir(), env }));
    expect(r.error?.code).toBe('ENOENT');
    expect(r.code).toBeNull();
  });

  it('delivers a stop sent before the pid is known, to the whole process group', async () => {
    const cmd = spawner.start('/bin/sh', ['-c', 'sleep 30 & sleep 30; wait'], { cwd: os.tmpdir(), env });
    cmd.killGroup('SIGTERM'); // at once: the spawner has not said the pid yet
    const t0 = Date.now();
    const r = await collect(cmd);
    expect(r.signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('stops its commands and ends them as killed when the spawner process dies', async () => {
    const cmd = spawner.start('/bin/sh', ['-c', 'echo started; sleep 30'], { cwd: os.tmpdir(), env });
    const result = collect(cmd);
    while (cmd.pid === undefined) await new Promise((r) => setTimeout(r, 20));
    const spawnerPid = Number(execFileSync('pgrep', ['-P', String(process.pid), '-f', 'spawner-process'], { encoding: 'utf8' }).trim().split('\n')[0]);
    process.kill(spawnerPid, 'SIGKILL');
    const r = await result;
    expect(r.signal).toBe('SIGKILL');
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(cmd.pid)).toBe(false);
    // A new spawner serves the next command.
    expect((await collect(spawner.start('/bin/true', [], { cwd: os.tmpdir(), env }))).code).toBe(0);
  });
});
