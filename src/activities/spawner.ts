/**
 * How a worker starts test commands. fork() copies the page tables of the process that calls it, so a spawn from a
 * worker with 300+ MB mapped costs about 4 ms of CPU, per command, against about 1 ms from a small process. The
 * worker therefore forks one small spawner process (spawner-process.ts) and asks it to start each command; output
 * and exit come back over IPC. Where the spawner cannot run (its script is missing, it died), commands are started
 * directly, as before. Either way a command runs detached, in its own process group, and is stopped by group.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';

export interface SpawnRequest {
  t: 'spawn';
  id: number;
  program: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  runAs?: { uid: number; gid: number };
}

export interface SpawnErrorInfo {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

export type SpawnerReply =
  | { t: 'pid'; id: number; pid: number }
  | { t: 'out'; id: number; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { t: 'error'; id: number; started: boolean; error: SpawnErrorInfo }
  | { t: 'close'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** A started command, however it was started: its output, its end, and a way to signal its whole process group. */
export interface RunningCommand {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** 'error' (could not start, or lost), then 'close' (code, signal) once it has ended and its output is read. */
  once(event: 'error', fn: (err: NodeJS.ErrnoException) => void): this;
  once(event: 'close', fn: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  /** The process id once known (undefined while starting, or when it never started). */
  readonly pid: number | undefined;
  /** Signals the command's process group; a signal sent before its pid is known is delivered when it is. */
  killGroup(signal: NodeJS.Signals): void;
}

export interface CommandOptions {
  cwd: string;
  env: Record<string, string>;
  runAs?: { uid: number; gid: number };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** Starts a command from this process (the fallback, and the way of a process that is small anyway). */
export function spawnDirect(program: string, args: string[], opts: CommandOptions): RunningCommand {
  const child: ChildProcess = spawn(program, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(opts.runAs ?? {}) });
  const running = Object.assign(child, { killGroup: (signal: NodeJS.Signals) => signalGroup(child.pid, signal) });
  return running as unknown as RunningCommand;
}

class SpawnedThroughSpawner extends EventEmitter implements RunningCommand {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  pid: number | undefined;
  private pendingSignals: NodeJS.Signals[] = [];
  private ended = false;

  killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) {
      if (!this.ended) this.pendingSignals.push(signal);
      return;
    }
    signalGroup(this.pid, signal);
  }

  started(pid: number): void {
    this.pid = pid;
    for (const signal of this.pendingSignals.splice(0)) signalGroup(pid, signal);
  }

  output(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    this[stream].write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  failed(err: NodeJS.ErrnoException, started: boolean): void {
    if (!started) this.end();
    this.emit('error', err);
  }

  /** Takes over a command started some other way: its output, pid, error and end become this one's. */
  adopt(other: RunningCommand): void {
    if (other.pid !== undefined) this.started(other.pid); // a direct spawn knows its pid at once
    other.stdout.on('data', (chunk: Buffer) => this.stdout.write(chunk));
    other.stderr.on('data', (chunk: Buffer) => this.stderr.write(chunk));
    other.once('error', (err) => this.failed(err, other.pid !== undefined));
    other.once('close', (code, signal) => this.closed(code, signal));
  }

  /** Ends like a child process does: output first ('end' on both streams), then 'close'. */
  closed(code: number | null, signal: NodeJS.Signals | null): void {
    this.end();
    void Promise.all([finished(this.stdout), finished(this.stderr)])
      .catch(() => undefined)
      .then(() => this.emit('close', code, signal));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pendingSignals = [];
    this.stdout.end();
    this.stderr.end();
  }
}

/** Where the spawner's script is: beside this module once built; from the built tree when run from sources (tests). */
function spawnerScript(): string | undefined {
  const candidates = [path.join(__dirname, 'spawner-process.js'), path.resolve(__dirname, '..', '..', 'dist', 'src', 'activities', 'spawner-process.js')];
  return candidates.find((file) => fs.existsSync(file));
}

export class CommandSpawner {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly inFlight = new Map<number, SpawnedThroughSpawner>();
  private unavailable: string | undefined;

  constructor(private readonly log?: Logger) {}

  /** Starts a command through the spawner, or directly when the spawner cannot run. */
  start(program: string, args: string[], opts: CommandOptions): RunningCommand {
    const child = this.ensureChild();
    if (!child) return spawnDirect(program, args, opts);
    const id = this.nextId++;
    const running = new SpawnedThroughSpawner();
    this.inFlight.set(id, running);
    const request: SpawnRequest = { t: 'spawn', id, program, args, cwd: opts.cwd, env: opts.env, ...(opts.runAs ? { runAs: opts.runAs } : {}) };
    child.send(request, (err) => {
      if (!err || !this.inFlight.has(id)) return;
      // The spawner went away before it got the request: this command starts from the worker instead.
      this.inFlight.delete(id);
      this.log?.warn({ err }, 'command spawner: request not delivered; starting the command from the worker');
      running.adopt(spawnDirect(program, args, opts));
    });
    return running;
  }

  /** Stops the spawner (running commands keep running, as they would if the worker stopped). */
  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child?.connected) child.disconnect();
  }

  private ensureChild(): ChildProcess | undefined {
    if (this.child?.connected) return this.child;
    if (this.unavailable) return undefined;
    const script = spawnerScript();
    if (!script) {
      this.unavailable = 'its script is not built';
      this.log?.warn('command spawner: spawner-process.js not found; commands are started from the worker itself');
      return undefined;
    }
    const child = fork(script, [], { serialization: 'advanced', execArgv: ['--max-old-space-size=64'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // Neither the process nor its channel keeps the worker alive; the worker's own work does.
    child.unref();
    child.channel?.unref();
    child.on('message', (reply: SpawnerReply) => this.onReply(reply));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (err) => this.log?.warn({ err }, 'command spawner: process error'));
    this.child = child;
    return child;
  }

  private onReply(reply: SpawnerReply): void {
    const running = this.inFlight.get(reply.id);
    if (!running) return;
    if (reply.t === 'pid') running.started(reply.pid);
    else if (reply.t === 'out') running.output(reply.stream, reply.data);
    else if (reply.t === 'error') {
      if (!reply.started) this.inFlight.delete(reply.id);
      running.failed(Object.assign(new Error(reply.error.message), reply.error) as NodeJS.ErrnoException, reply.started);
    } else {
      this.inFlight.delete(reply.id);
      running.closed(reply.code, reply.signal);
    }
  }

  /** The spawner died: its commands lost their output pipes, so they are stopped and end as killed. */
  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = undefined;
    if (this.inFlight.size === 0) return;
    this.log?.error({ code, signal, commands: this.inFlight.size }, 'command spawner exited with commands running; they are stopped');
    for (const [id, running] of this.inFlight) {
      this.inFlight.delete(id);
      running.killGroup('SIGKILL');
      running.closed(null, 'SIGKILL');
    }
  }
}
