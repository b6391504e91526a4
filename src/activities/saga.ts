/**
 * Host-side compensation (saga): every step of a task that changes this host registers its undo as it succeeds
 * (teardowns also in a manifest on disk). The undos run in reverse when the attempt ends — failure, cancellation or success alike —
 * and a worker that starts after a crash replays the manifests left behind, so nothing outlives its task.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CompensationRecord } from '../domain/task-result';

export type Undo =
  | { kind: 'workspace'; path: string }
  | { kind: 'gpu-lease'; file: string; gpu: number }
  | {
      kind: 'teardown';
      name: string;
      command: string[];
      cwd: string;
      /** The step's environment without its secrets; `secretEnv` names them, resolved from the worker when it runs. */
      env: Record<string, string>;
      secretEnv?: Record<string, string>;
      timeoutSeconds: number;
    };

export type { CompensationRecord };

/** An undo is retried with its own small policy; what still fails is recorded, never thrown over the task's error. */
export const UNDO_ATTEMPTS = 3;
const UNDO_BACKOFF_MS = 200;

export const manifestDir = (workRoot: string) => path.join(workRoot, '.manifests');
export const leaseDir = (workRoot: string) => path.join(workRoot, '.leases');

export function describeUndo(u: Undo): string {
  return u.kind === 'workspace' ? `remove workspace ${path.basename(u.path)}` : u.kind === 'gpu-lease' ? `release GPU ${u.gpu}` : `teardown ${u.name}`;
}

async function runUndo(u: Undo): Promise<void> {
  if (u.kind === 'workspace') return fs.rm(u.path, { recursive: true, force: true });
  if (u.kind === 'gpu-lease') return fs.rm(u.file, { force: true });
  await new Promise<void>((resolve, reject) => {
    const secrets = Object.fromEntries(Object.entries(u.secretEnv ?? {}).flatMap(([name, from]) => (process.env[from] ? [[name, process.env[from]!]] : [])));
    const child = spawn(u.command[0], u.command.slice(1), { cwd: u.cwd, env: { ...u.env, ...secrets }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), u.timeoutSeconds * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`teardown ${u.name} exited with ${signal ?? code}`));
    });
  });
}

export class HostSaga {
  private readonly undos: Undo[] = [];
  private readonly manifest: string;

  constructor(
    workRoot: string,
    id: string,
    private readonly log: Logger,
  ) {
    this.manifest = path.join(manifestDir(workRoot), `${id}.json`);
  }

  get registered(): readonly Undo[] {
    return this.undos;
  }

  private persisted = false;

  /**
   * Only teardowns go to the manifest on disk: workspaces and leases are found by the crash sweep without one,
   * which keeps the happy path free of extra disk writes.
   */
  async register(undo: Undo): Promise<void> {
    this.undos.push(undo);
    if (undo.kind !== 'teardown') return;
    await fs.mkdir(path.dirname(this.manifest), { recursive: true });
    await fs.writeFile(this.manifest, JSON.stringify(this.undos));
    this.persisted = true;
  }

  /** Runs every undo in reverse order; always completes. */
  async compensate(): Promise<CompensationRecord[]> {
    const records = await compensateAll([...this.undos].reverse(), this.log);
    this.undos.length = 0;
    if (this.persisted && records.every((r) => r.ok)) await fs.rm(this.manifest, { force: true });
    return records;
  }
}

async function compensateAll(undos: Undo[], log: Logger): Promise<CompensationRecord[]> {
  const records: CompensationRecord[] = [];
  for (const undo of undos) {
    const step = describeUndo(undo);
    let attempts = 0;
    let error: string | undefined;
    while (attempts < UNDO_ATTEMPTS) {
      attempts += 1;
      try {
        await runUndo(undo);
        error = undefined;
        break;
      } catch (err) {
        error = (err as Error).message;
        await new Promise((r) => setTimeout(r, UNDO_BACKOFF_MS * 2 ** (attempts - 1)));
      }
    }
    if (error) log.error({ step, attempts, error }, 'compensation step failed');
    records.push({ step, ok: !error, attempts, ...(error ? { error } : {}) });
  }
  return records;
}

/**
 * At worker start nothing of this host runs yet: replay every manifest left by a crashed worker (undos in reverse),
 * then clear stray leases. Returns what was compensated.
 */
export async function sweepLeftovers(workRoot: string, log: Logger): Promise<CompensationRecord[]> {
  const dir = manifestDir(workRoot);
  const files = await fs.readdir(dir).catch(() => [] as string[]);
  const records: CompensationRecord[] = [];
  // Commands run in their own process group, so they outlive a killed worker: stop them before freeing their GPU
  // lease and workspace, or a new task would share a GPU with an orphan.
  for (const pid of await commandsRunningUnder(workRoot)) {
    let error: string | undefined;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') error = (err as Error).message;
    }
    records.push({ step: `kill orphaned command pid ${pid}`, ok: !error, attempts: 1, ...(error ? { error } : {}) });
  }
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    const full = path.join(dir, file);
    const undos = JSON.parse(await fs.readFile(full, 'utf8').catch(() => '[]')) as Undo[];
    const done = await compensateAll([...undos].reverse(), log);
    records.push(...done);
    if (done.every((r) => r.ok)) await fs.rm(full, { force: true });
  }
  await fs.rm(leaseDir(workRoot), { recursive: true, force: true });
  // Workspaces of attempts that died with their worker (no task of this host runs yet).
  for (const entry of await fs.readdir(workRoot).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    await fs.rm(path.join(workRoot, entry), { recursive: true, force: true });
    records.push({ step: `remove workspace ${entry}`, ok: true, attempts: 1 });
  }
  if (records.length) log.warn({ records }, `compensated ${records.length} step(s) left by an earlier worker on this host`);
  return records;
}

/**
 * Processes of task commands of this work root that are still running: every command gets DTF_WORKSPACE in its
 * environment, and its children inherit it. Read from /proc (Linux, where GPU hosts run); elsewhere none are found.
 */
export async function commandsRunningUnder(workRoot: string): Promise<number[]> {
  const marker = Buffer.from(`\0DTF_WORKSPACE=${path.resolve(workRoot)}${path.sep}`);
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const environ = await fs.readFile(`/proc/${pid}/environ`).catch(() => undefined);
    // A leading NUL so that the marker matches a whole variable; the first one has none before it.
    if (environ && Buffer.concat([Buffer.from([0]), environ]).includes(marker)) pids.push(pid);
  }
  return pids;
}

/** What a task left on this host: workspaces, leases, manifests and running commands (for tests and the chaos run). */
export async function leftoversOn(workRoot: string): Promise<string[]> {
  const top = await fs.readdir(workRoot).catch(() => [] as string[]);
  const found = top.filter((f) => !f.startsWith('.')).map((f) => `workspace:${f}`);
  for (const pid of await commandsRunningUnder(workRoot)) found.push(`process:${pid}`);
  for (const [label, dir] of [['lease', leaseDir(workRoot)], ['manifest', manifestDir(workRoot)]] as const) {
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) found.push(`${label}:${f}`);
  }
  return found;
}

/** Lease files for GPUs the in-process pool granted: the crash sweep finds them if the worker dies holding them. */
export async function writeGpuLeaseFiles(workRoot: string, gpus: number[], owner: string): Promise<{ gpu: number; file: string }[]> {
  await fs.mkdir(leaseDir(workRoot), { recursive: true });
  return Promise.all(
    gpus.map(async (gpu) => {
      const file = path.join(leaseDir(workRoot), `gpu-${gpu}.lease`);
      await fs.writeFile(file, owner);
      return { gpu, file };
    }),
  );
}

/** Exclusive GPU leases on this host: a lease is a file created with O_EXCL, so two tasks never get the same GPU. */
export async function acquireGpuLease(workRoot: string, candidates: number[], owner: string): Promise<{ gpu: number; file: string } | undefined> {
  await fs.mkdir(leaseDir(workRoot), { recursive: true });
  for (const gpu of candidates) {
    const file = path.join(leaseDir(workRoot), `gpu-${gpu}.lease`);
    try {
      await fs.writeFile(file, owner, { flag: 'wx' });
      return { gpu, file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return undefined;
}
