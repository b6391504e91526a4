/**
 * Host-side compensation (saga): every step of a task that changes this host registers its undo as it succeeds
 * (teardowns also in a manifest on disk). The undos run in reverse when the attempt ends — failure, cancellation or success alike —
 * and a worker that starts after a crash replays the manifests left behind, so nothing outlives its task.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
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
      /** The user the task's commands ran as (`dtf worker --run-as`): its teardown runs as that user too. */
      runAs?: { uid: number; gid: number };
    };

export type { CompensationRecord };

/** An undo is retried with its own small policy; what still fails is recorded, never thrown over the task's error. */
export const UNDO_ATTEMPTS = 3;
const UNDO_BACKOFF_MS = 200;

export const manifestDir = (workRoot: string) => path.join(workRoot, '.manifests');
export const leaseDir = (workRoot: string) => path.join(workRoot, '.leases');
/** One marker file per workspace dtf made, beside it rather than in it: a setup step may `git clone` into it. */
export const workspaceMarkerDir = (workRoot: string) => path.join(workRoot, '.workspaces');
/** dtf's own bookkeeping folders under a work dir; everything else there is a workspace of dtf's or not dtf's at all. */
const OWN_DIRS = ['.manifests', '.leases', '.workspaces'];

/** What dtf writes into each marker, lease and manifest, so that the sweep can tell its own files from anyone else's. */
export const DTF_MARKER = 'dtf-owned/v1';
/** Shape of a workspace name (workspaceName in task.ts): `<workflow id>-p<N>-a<N>`. */
export const WORKSPACE_NAME = /^[A-Za-z0-9._-]{1,400}-p\d+-a\d+$/;
const LEASE_NAME = /^gpu-(\d+)\.lease$/;
const MANIFEST_NAME = /^[A-Za-z0-9._-]{1,400}-p\d+-a\d+\.json$/;

const WorkspaceMarker = z.object({ marker: z.literal(DTF_MARKER), kind: z.literal('workspace'), name: z.string() });
const LeaseMarker = z.object({ marker: z.literal(DTF_MARKER), kind: z.literal('gpu-lease'), gpu: z.number().int().min(0), owner: z.string() });
const UndoShape = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('workspace'), path: z.string() }),
  z.object({ kind: z.literal('gpu-lease'), file: z.string(), gpu: z.number().int().min(0) }),
  z.object({
    kind: z.literal('teardown'),
    name: z.string(),
    command: z.array(z.string()).min(1),
    cwd: z.string(),
    env: z.record(z.string()),
    secretEnv: z.record(z.string()).optional(),
    timeoutSeconds: z.number().positive(),
    runAs: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).optional(),
  }),
]);
const Manifest = z.object({ marker: z.literal(DTF_MARKER), kind: z.literal('manifest'), undos: z.array(UndoShape) });

/**
 * Makes a task's workspace under the work root, marker first: a crash between the two leaves only a marker. With
 * `chownTo` (`--run-as`) the workspace belongs to the user the commands run as; the marker stays the worker's.
 */
export async function createWorkspace(workRoot: string, name: string, owner: string, chownTo?: { uid: number; gid: number }): Promise<string> {
  if (!WORKSPACE_NAME.test(name)) throw new Error(`not a workspace name: ${name}`);
  const marker = path.join(workspaceMarkerDir(workRoot), name);
  const content = JSON.stringify({ marker: DTF_MARKER, kind: 'workspace', name, owner });
  if (!markerDirsMade.has(workRoot)) await fs.mkdir(workspaceMarkerDir(workRoot), { recursive: true });
  await fs.writeFile(marker, content).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await fs.mkdir(workspaceMarkerDir(workRoot), { recursive: true }); // removed under a running worker
    await fs.writeFile(marker, content);
  });
  markerDirsMade.add(workRoot);
  const workspace = path.join(workRoot, name);
  await fs.mkdir(workspace, { recursive: true });
  if (chownTo) await fs.chown(workspace, chownTo.uid, chownTo.gid);
  return workspace;
}

/** Work roots whose marker folder exists: made once per process, not once per task. */
const markerDirsMade = new Set<string>();

async function removeWorkspace(workspace: string): Promise<void> {
  await fs.rm(workspace, { recursive: true, force: true });
  // unlink, not rm: rm stats first, and this is on every task's path.
  await fs.unlink(path.join(workspaceMarkerDir(path.dirname(workspace)), path.basename(workspace))).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function leaseContent(gpu: number, owner: string): string {
  return JSON.stringify({ marker: DTF_MARKER, kind: 'gpu-lease', gpu, owner });
}

/** Parses a small JSON file of dtf's with `schema`; anything else (missing, too big, not JSON, another shape) is undefined. */
async function readOwned<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat?.isFile() || stat.size > 4 * 1024 * 1024) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A workspace of dtf's: a real directory (not a link) of the right name under the work root, with its marker. */
async function isOwnWorkspace(workRoot: string, name: string): Promise<boolean> {
  if (!WORKSPACE_NAME.test(name)) return false;
  const stat = await fs.lstat(path.join(workRoot, name)).catch(() => undefined);
  if (!stat?.isDirectory()) return false;
  const marker = await readOwned(path.join(workspaceMarkerDir(workRoot), name), WorkspaceMarker);
  return marker?.name === name;
}

async function isOwnLease(workRoot: string, file: string): Promise<boolean> {
  if (path.dirname(file) !== leaseDir(workRoot)) return false;
  const gpu = LEASE_NAME.exec(path.basename(file))?.[1];
  if (gpu === undefined) return false;
  const lease = await readOwned(file, LeaseMarker);
  return lease?.gpu === Number(gpu);
}

export function describeUndo(u: Undo): string {
  return u.kind === 'workspace' ? `remove workspace ${path.basename(u.path)}` : u.kind === 'gpu-lease' ? `release GPU ${u.gpu}` : `teardown ${u.name}`;
}

async function runUndo(u: Undo): Promise<void> {
  if (u.kind === 'workspace') return removeWorkspace(u.path);
  if (u.kind === 'gpu-lease') return fs.rm(u.file, { force: true });
  await new Promise<void>((resolve, reject) => {
    const secrets = Object.fromEntries(Object.entries(u.secretEnv ?? {}).flatMap(([name, from]) => (process.env[from] ? [[name, process.env[from]!]] : [])));
    const child = spawn(u.command[0], u.command.slice(1), { cwd: u.cwd, env: { ...u.env, ...secrets }, stdio: 'ignore', ...(u.runAs ?? {}) });
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
   * Only teardowns go to the manifest on disk: workspaces and leases are found by the crash sweep by their markers,
   * which keeps the happy path to one small marker write per workspace.
   */
  async register(undo: Undo): Promise<void> {
    this.undos.push(undo);
    if (undo.kind !== 'teardown') return;
    await fs.mkdir(path.dirname(this.manifest), { recursive: true });
    await fs.writeFile(this.manifest, JSON.stringify({ marker: DTF_MARKER, kind: 'manifest', undos: this.undos }));
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
 * then remove the leases and workspaces it left. Only what carries dtf's marker, in the right shape, is touched:
 * anything else under the work root (a home directory's files, say) is left alone and logged once.
 */
export async function sweepLeftovers(workRoot: string, log: Logger): Promise<CompensationRecord[]> {
  const records: CompensationRecord[] = [];
  const foreign: string[] = [];
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
  const dir = manifestDir(workRoot);
  for (const file of await fs.readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, file);
    const manifest = MANIFEST_NAME.test(file) ? await readOwned(full, Manifest) : undefined;
    if (!manifest) {
      foreign.push(path.join('.manifests', file));
      continue;
    }
    // A manifest's workspace and lease undos are checked like any other entry: it never removes what dtf did not make.
    const undos: Undo[] = [];
    for (const u of manifest.undos) {
      if (u.kind === 'workspace' && !(path.dirname(u.path) === workRoot && (await isOwnWorkspace(workRoot, path.basename(u.path))))) continue;
      if (u.kind === 'gpu-lease' && !(await isOwnLease(workRoot, u.file))) continue;
      undos.push(u);
    }
    const done = await compensateAll([...undos].reverse(), log);
    records.push(...done);
    if (done.every((r) => r.ok)) await fs.rm(full, { force: true });
  }
  for (const file of await fs.readdir(leaseDir(workRoot)).catch(() => [] as string[])) {
    const full = path.join(leaseDir(workRoot), file);
    if (!(await isOwnLease(workRoot, full))) {
      foreign.push(path.join('.leases', file));
      continue;
    }
    await fs.rm(full, { force: true });
    records.push({ step: `release GPU ${LEASE_NAME.exec(file)![1]}`, ok: true, attempts: 1 });
  }
  // Workspaces of attempts that died with their worker (no task of this host runs yet).
  for (const entry of await fs.readdir(workRoot).catch(() => [] as string[])) {
    if (OWN_DIRS.includes(entry)) continue;
    if (!(await isOwnWorkspace(workRoot, entry))) {
      foreign.push(entry);
      continue;
    }
    await removeWorkspace(path.join(workRoot, entry));
    records.push({ step: `remove workspace ${entry}`, ok: true, attempts: 1 });
  }
  // Markers whose workspace is gone (a crash between marker and directory, or a removed directory).
  for (const file of await fs.readdir(workspaceMarkerDir(workRoot)).catch(() => [] as string[])) {
    const full = path.join(workspaceMarkerDir(workRoot), file);
    const marker = await readOwned(full, WorkspaceMarker);
    if (!marker || marker.name !== file || !WORKSPACE_NAME.test(file)) foreign.push(path.join('.workspaces', file));
    else if (!(await fs.lstat(path.join(workRoot, file)).catch(() => undefined))) await fs.rm(full, { force: true });
  }
  if (foreign.length) {
    log.warn(
      { workRoot, count: foreign.length, entries: foreign.slice(0, 20) },
      `left ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} under the work dir alone: not made by dtf`,
    );
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
  const markers = await fs.readdir(workspaceMarkerDir(workRoot)).catch(() => [] as string[]);
  const workspaces = new Set([...top, ...markers].filter((f) => WORKSPACE_NAME.test(f)));
  const found = [...workspaces].sort().map((f) => `workspace:${f}`);
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
      await fs.writeFile(file, leaseContent(gpu, owner));
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
      await fs.writeFile(file, leaseContent(gpu, owner), { flag: 'wx' });
      return { gpu, file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return undefined;
}
