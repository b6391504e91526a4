/**
 * What an attempt carries off its host: the command's checkpoint (`$DTF_CHECKPOINT_DIR`, packed as tar.gz when it
 * changes, inline in heartbeat details when small, else in the artifact store) and its artifacts (the spec's globs,
 * copied to the store while it runs and once more when it ends). Restores a checkpoint the workflow passes in.
 * Nothing here ever fails an attempt: a checkpoint or artifact that cannot be kept is logged and recorded.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import * as tar from 'tar';
import { glob } from 'tinyglobby';
import { ArtifactRecord, ArtifactsConfig, AttemptCarry, CheckpointRef, SkippedArtifact, artifactKey, checkpointKey, selectWithinBounds } from '../domain/artifacts';
import type { ArtifactStore } from '../artifacts/store';

export interface CarrierOptions {
  store: ArtifactStore;
  config: ArtifactsConfig;
  workflowId: string;
  attempt: number;
  host: string;
  log: Logger;
  /** The checkpoint the workflow passed in (the task's newest), to restore. */
  given?: CheckpointRef;
  /** The spec's artifact globs, relative to the command's cwd. */
  artifacts: readonly string[];
  /** Called when there is something new to heartbeat (a checkpoint packed, artifacts copied). */
  onChange?: () => void;
  now?: () => number;
}

interface DirState {
  signature: string;
  newestMtimeMs: number;
  files: number;
}

/** Walks a directory: its files' paths, sizes and mtimes in one comparable string. */
async function dirState(dir: string): Promise<DirState> {
  const parts: string[] = [];
  let newestMtimeMs = 0;
  let files = 0;
  const walk = async (rel: string) => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        parts.push(`${r}/`);
        await walk(r);
      } else if (e.isFile()) {
        const st = await fs.stat(path.join(dir, r)).catch(() => undefined);
        if (!st) continue;
        files += 1;
        newestMtimeMs = Math.max(newestMtimeMs, st.mtimeMs);
        parts.push(`${r}\u0000${st.size}\u0000${st.mtimeMs}`);
      }
    }
  };
  await walk('');
  return { signature: parts.join('\n'), newestMtimeMs, files };
}

export async function packDir(dir: string): Promise<Buffer> {
  const entries = (await fs.readdir(dir)).sort();
  return tar.c({ gzip: true, cwd: dir, portable: true }, entries).concat();
}

/** Unpacks a tar.gz into `dir`; entries that would leave it (absolute, `..`) are refused by tar itself. */
export async function unpackInto(dir: string, bytes: Buffer): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const unpack = tar.x({ cwd: dir, strict: true });
  await new Promise<void>((resolve, reject) => {
    unpack.once('end', resolve);
    unpack.once('error', reject);
    unpack.end(bytes);
  });
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

export class AttemptCarrier {
  private dir?: string;
  private cwd?: string;
  private latest?: CheckpointRef;
  private packedSignature?: string;
  private lastPackAt = 0;
  private lastSyncAt = 0;
  private busy?: Promise<void>;
  private recheck?: NodeJS.Timeout;
  private finished = false;
  private seq: number;
  private tooLargeLogged = false;
  private restoreError?: string;
  private readonly kept = new Map<string, { bytes: number; mtimeMs: number; record: ArtifactRecord }>();
  private readonly skipped = new Map<string, SkippedArtifact>();
  private readonly now: () => number;

  constructor(private readonly opts: CarrierOptions) {
    this.latest = opts.given;
    this.seq = opts.given?.seq ?? 0;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Makes the checkpoint directory and restores the given checkpoint into it. Returns the sequence number restored,
   * or undefined (none given, or it could not be read: then the command starts from the beginning).
   */
  async prepare(dir: string, cwd: string): Promise<number | undefined> {
    this.dir = dir;
    this.cwd = cwd;
    this.lastSyncAt = this.lastPackAt = this.now();
    await fs.mkdir(dir, { recursive: true });
    const given = this.opts.given;
    if (!given) return undefined;
    try {
      const bytes = given.inline !== undefined ? Buffer.from(given.inline, 'base64') : await this.opts.store.get(given.url!);
      if (sha256(bytes) !== given.sha256) throw new Error(`checkpoint ${given.seq} does not match its sha256 (${bytes.length} bytes read)`);
      await unpackInto(dir, bytes);
      this.packedSignature = (await dirState(dir)).signature;
      this.opts.log.info({ seq: given.seq, bytes: given.bytes, from: given.host }, `restored checkpoint ${given.seq} into ${dir}`);
      return given.seq;
    } catch (err) {
      this.restoreError = `checkpoint ${given.seq} could not be restored on ${this.opts.host}: ${(err as Error).message}`;
      this.opts.log.warn({ err }, `${this.restoreError}; the command starts from the beginning`);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { recursive: true });
      return undefined;
    }
  }

  /**
   * On the heartbeat tick: packs a changed checkpoint, copies artifacts when due. Never overlaps itself. A change
   * still being written is looked at once more as soon as it would have settled, not a whole tick later: a command
   * that writes in step with the tick would otherwise never be seen settled.
   */
  tick(again = true): void {
    if (!this.dir || this.busy || this.finished) return;
    this.busy = this.poll(false)
      .then((settlesInMs) => {
        if (settlesInMs === undefined || !again || this.finished) return;
        clearTimeout(this.recheck);
        this.recheck = setTimeout(() => this.tick(false), settlesInMs + 10);
        this.recheck.unref();
      })
      .catch((err: unknown) => this.opts.log.warn({ err }, 'checkpoint/artifact poll failed'))
      .finally(() => (this.busy = undefined));
  }

  /** After the command: the last checkpoint and every artifact, before the workspace is removed. */
  async finish(): Promise<void> {
    if (!this.dir) return;
    this.finished = true;
    clearTimeout(this.recheck);
    await this.busy;
    try {
      await this.poll(true);
    } catch (err) {
      this.opts.log.warn({ err }, 'final checkpoint/artifact collection failed');
    }
  }

  /** The heartbeat's share, and what the attempt's failure or result carries. */
  carry(): AttemptCarry {
    const artifacts = [...this.kept.values()].map((k) => k.record);
    const skipped = [...this.skipped.values()];
    return {
      ...(this.latest ? { checkpoint: this.latest } : {}),
      ...(artifacts.length ? { artifacts } : {}),
      ...(skipped.length ? { artifactsSkipped: skipped.slice(0, 20) } : {}),
      ...(this.restoreError ? { restoreError: this.restoreError } : {}),
    };
  }

  /** Returns in how many ms a change that has not settled yet will have (undefined: nothing waits). */
  private async poll(final: boolean): Promise<number | undefined> {
    const pack = await this.maybePack(final);
    const packed = pack === true;
    const due = this.opts.config.syncIntervalMs > 0 && this.now() - this.lastSyncAt >= this.opts.config.syncIntervalMs;
    const copied = this.opts.artifacts.length && (final || packed || due) ? await this.syncArtifacts() : false;
    if (packed || copied) this.opts.onChange?.();
    return typeof pack === 'number' ? pack : undefined;
  }

  /** true: a new checkpoint; false: nothing to pack; a number: changed, settled in that many ms. */
  private async maybePack(final: boolean): Promise<boolean | number> {
    const cfg = this.opts.config;
    const state = await dirState(this.dir!);
    if (state.files === 0 || state.signature === this.packedSignature) return false;
    const now = this.now();
    const settled = now - state.newestMtimeMs >= cfg.checkpointSettleMs;
    if (!final && !settled && now - this.lastPackAt < cfg.checkpointMaxWaitMs) return Math.max(0, state.newestMtimeMs + cfg.checkpointSettleMs - now);
    const bytes = await packDir(this.dir!);
    this.packedSignature = state.signature;
    this.lastPackAt = now;
    if (bytes.length > cfg.checkpointMaxBytes) {
      if (!this.tooLargeLogged) this.opts.log.warn({ bytes: bytes.length, max: cfg.checkpointMaxBytes }, 'checkpoint larger than checkpointMaxBytes: not kept');
      this.tooLargeLogged = true;
      return false;
    }
    const seq = this.seq + 1;
    const base = { seq, attempt: this.opts.attempt, host: this.opts.host, bytes: bytes.length, sha256: sha256(bytes), at: new Date(now).toISOString() };
    const ref: CheckpointRef =
      bytes.length <= cfg.checkpointInlineBytes
        ? { ...base, inline: bytes.toString('base64') }
        : { ...base, url: (await this.opts.store.put(checkpointKey(this.opts.workflowId, seq), { bytes })).url };
    this.seq = seq;
    this.latest = ref;
    this.opts.log.info({ seq, bytes: bytes.length, inline: ref.inline !== undefined }, `checkpoint ${seq} packed`);
    return true;
  }

  /** Copies matched files that are new or changed since the last copy, within the per-attempt bounds. */
  private async syncArtifacts(): Promise<boolean> {
    this.lastSyncAt = this.now();
    const cwd = this.cwd!;
    const matched = await glob([...this.opts.artifacts], { cwd, onlyFiles: true, dot: true, followSymbolicLinks: false, expandDirectories: false }).catch(() => [] as string[]);
    const stats = new Map<string, { bytes: number; mtimeMs: number }>();
    for (const rel of matched) {
      const st = await fs.stat(path.join(cwd, rel)).catch(() => undefined);
      if (st?.isFile()) stats.set(rel, { bytes: st.size, mtimeMs: st.mtimeMs });
    }
    const { keep, skip } = selectWithinBounds([...stats].map(([p, s]) => ({ path: p, bytes: s.bytes })), this.opts.config);
    for (const s of skip) {
      if (!this.kept.has(s.path)) this.skipped.set(s.path, { path: s.path, bytes: s.bytes, attempt: this.opts.attempt, host: this.opts.host, reason: s.reason });
    }
    let copied = false;
    for (const f of keep) {
      const st = stats.get(f.path)!;
      const known = this.kept.get(f.path);
      if (known && known.bytes === st.bytes && known.mtimeMs === st.mtimeMs) continue;
      try {
        const put = await this.opts.store.put(artifactKey(this.opts.workflowId, this.opts.attempt, f.path), { file: path.join(cwd, f.path) });
        this.kept.set(f.path, { ...st, record: { path: f.path, url: put.url, bytes: put.bytes, attempt: this.opts.attempt, host: this.opts.host } });
        this.skipped.delete(f.path);
        copied = true;
      } catch (err) {
        this.skipped.set(f.path, { path: f.path, bytes: st.bytes, attempt: this.opts.attempt, host: this.opts.host, reason: `store failed: ${(err as Error).message}` });
        this.opts.log.warn({ err, path: f.path }, 'could not copy an artifact to the store');
      }
    }
    return copied;
  }
}
