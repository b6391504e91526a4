/**
 * The spawner: a small node process that the worker forks once and that starts test commands for it (see
 * spawner.ts). Its only job is to call spawn() from a process with little memory mapped: fork() copies the page
 * tables of the process that spawns, and for a worker of 300+ MB that costs about 4 ms of CPU per command.
 * It relays each command's pid, output and exit over IPC, pauses a command's output while too much of it is unsent,
 * and exits as soon as the worker is gone (commands run detached, in their own process groups, as before).
 */
import { RunningCommand, SpawnErrorInfo, SpawnerReply, SpawnRequest, spawnDirect } from './spawner';

/** Unsent output above which a command's pipes are paused until IPC catches up. */
const MAX_UNSENT_BYTES = 1024 * 1024;

let unsent = 0;
const paused = new Set<RunningCommand>();

function send(reply: SpawnerReply, bytes = 0): void {
  if (!process.connected) return;
  unsent += bytes;
  process.send!(reply, undefined, undefined, () => {
    unsent -= bytes;
    if (unsent <= MAX_UNSENT_BYTES / 2) {
      for (const child of paused) {
        child.stdout.resume();
        child.stderr.resume();
      }
      paused.clear();
    }
  });
}

/** What crosses IPC of a spawn error: its message and errno fields. */
const errorInfo = (e: NodeJS.ErrnoException): SpawnErrorInfo => ({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path });

function start(req: SpawnRequest): void {
  let child: RunningCommand;
  try {
    child = spawnDirect(req.program, req.args, { cwd: req.cwd, env: req.env, ...(req.runAs ? { runAs: req.runAs } : {}) });
  } catch (err) {
    send({ t: 'error', id: req.id, started: false, error: errorInfo(err as NodeJS.ErrnoException) });
    return;
  }
  if (child.pid !== undefined) send({ t: 'pid', id: req.id, pid: child.pid });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      send({ t: 'out', id: req.id, stream, data: chunk }, chunk.length);
      if (unsent > MAX_UNSENT_BYTES) {
        child.stdout.pause();
        child.stderr.pause();
        paused.add(child);
      }
    });
  }
  child.once('error', (e) => send({ t: 'error', id: req.id, started: child.pid !== undefined, error: errorInfo(e) }));
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
