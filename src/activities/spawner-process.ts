/**
 * The spawner: a small node process that the worker forks once and that starts test commands for it (see
 * spawner.ts). Its only job is to call spawn() from a process with little memory mapped: fork() copies the page
 * tables of the process that spawns, and for a worker of 300+ MB that costs about 4 ms of CPU per command.
 * It relays each command's pid, output and exit over IPC, pauses a command's output while too much of it is unsent,
 * and exits as soon as the worker is gone (commands run detached, in their own process groups, as before).
 */
import { ChildProcess, spawn } from 'node:child_process';
import type { SpawnerReply, SpawnRequest } from './spawner';

/** Unsent output above which a command's pipes are paused until IPC catches up. */
const MAX_UNSENT_BYTES = 1024 * 1024;

let unsent = 0;
const paused = new Set<ChildProcess>();

function send(reply: SpawnerReply, bytes = 0): void {
  if (!process.connected) return;
  unsent += bytes;
  process.send!(reply, undefined, undefined, () => {
    unsent -= bytes;
    if (unsent <= MAX_UNSENT_BYTES / 2) {
      for (const child of paused) {
        child.stdout?.resume();
        child.stderr?.resume();
      }
      paused.clear();
    }
  });
}

function start(req: SpawnRequest): void {
  let child: ChildProcess;
  try {
    child = spawn(req.program, req.args, { cwd: req.cwd, env: req.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(req.runAs ?? {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ t: 'error', id: req.id, started: false, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } });
    return;
  }
  if (child.pid !== undefined) send({ t: 'pid', id: req.id, pid: child.pid });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.on('data', (chunk: Buffer) => {
      send({ t: 'out', id: req.id, stream, data: chunk }, chunk.length);
      if (unsent > MAX_UNSENT_BYTES) {
        child.stdout?.pause();
        child.stderr?.pause();
        paused.add(child);
      }
    });
  }
  child.once('error', (e: NodeJS.ErrnoException) => {
    send({ t: 'error', id: req.id, started: child.pid !== undefined, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } });
  });
  child.once('close', (code, signal) => {
    paused.delete(child);
    send({ t: 'close', id: req.id, code, signal });
  });
}

process.on('message', (msg: SpawnRequest) => {
  if (msg?.t === 'spawn') start(msg);
});
// The worker is gone (exited, or killed): so is the reason to be here.
process.on('disconnect', () => process.exit(0));
