/**
 * Checkpoints and artifacts as plain data: what an attempt carries out of its host (in heartbeat details, its
 * failure, its result), where it lies in the artifact store, and how the task keeps it across attempts. Pure.
 */

/**
 * The last checkpoint of a task: the packed `$DTF_CHECKPOINT_DIR` (tar.gz), inline in base64 when small, else a
 * reference into the artifact store. `seq` counts the task's checkpoints across attempts and hosts.
 */
export interface CheckpointRef {
  seq: number;
  /** The attempt and host that wrote it. */
  attempt: number;
  host: string;
  /** Size of the packed checkpoint (tar.gz bytes). */
  bytes: number;
  sha256: string;
  /** ISO time it was packed. */
  at: string;
  /** The tar.gz in base64, for checkpoints up to the inline limit. */
  inline?: string;
  /** Where the store keeps it (`file:///…`, `s3://bucket/key`), for larger ones. */
  url?: string;
}

/** One file kept from an attempt's workspace. This exact shape is what `dtf status` lists. */
export interface ArtifactRecord {
  /** Path relative to the command's working directory. */
  path: string;
  url: string;
  bytes: number;
  attempt: number;
  host: string;
}

/** A file an artifact glob matched that was not kept (over the per-attempt bounds, or unreadable). */
export interface SkippedArtifact {
  path: string;
  bytes: number;
  attempt: number;
  host: string;
  reason: string;
}

/** What an attempt carries back to the workflow, however it ended (heartbeat details, failure meta, result). */
export interface AttemptCarry {
  /** The newest checkpoint the attempt knows: one it packed, else the one it was given. */
  checkpoint?: CheckpointRef;
  artifacts?: ArtifactRecord[];
  artifactsSkipped?: SkippedArtifact[];
  /** The checkpoint this attempt was given could not be restored (it ran from the start). */
  restoreError?: string;
}

/** A task keeps at most this many artifact records (newest kept) and skipped entries across its attempts. */
export const TASK_ARTIFACTS_LIMIT = 1_000;
export const TASK_SKIPPED_LIMIT = 50;

export interface ArtifactBounds {
  maxFiles: number;
  maxBytes: number;
  maxFileBytes: number;
}

export const DEFAULT_CHECKPOINT_INLINE_BYTES = 256 * 1024;


/** A workflow id as one path segment or key part: letters, digits, `.`, `_`, `-`. */
export function safeSegment(id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, '_');
  return s === '.' || s === '..' ? s.replace(/\./g, '_') : s;
}

/** Store key of an artifact: `<workflow>/<attempt>/<path relative to the cwd>`. */
export function artifactKey(workflowId: string, attempt: number, relPath: string): string {
  const parts = relPath.split(/[\\/]+/).filter((p) => p && p !== '.');
  if (!parts.length || parts.includes('..')) throw new Error(`artifact path ${JSON.stringify(relPath)} leaves the working directory`);
  return `${safeSegment(workflowId)}/${attempt}/${parts.join('/')}`;
}

/** Store key of a checkpoint: `<workflow>/checkpoints/<seq>.tar.gz`. */
export function checkpointKey(workflowId: string, seq: number): string {
  return `${safeSegment(workflowId)}/checkpoints/${String(seq).padStart(6, '0')}.tar.gz`;
}

/** `s3://bucket/prefix/key`, and back. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
export function parseS3Url(url: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}
export function s3Key(prefix: string, key: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p ? `${p}/${key}` : key;
}

export interface CandidateFile {
  path: string;
  bytes: number;
}

/**
 * Which of the matched files an attempt keeps: in path order, each under the per-file limit, until the file count or
 * the byte total would pass its bound. The rest is skipped with the reason.
 */
export function selectWithinBounds(files: CandidateFile[], bounds: ArtifactBounds): { keep: CandidateFile[]; skip: (CandidateFile & { reason: string })[] } {
  const keep: CandidateFile[] = [];
  const skip: (CandidateFile & { reason: string })[] = [];
  let total = 0;
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (f.bytes > bounds.maxFileBytes) skip.push({ ...f, reason: `larger than maxFileBytes (${bounds.maxFileBytes})` });
    else if (keep.length >= bounds.maxFiles) skip.push({ ...f, reason: `over maxFiles (${bounds.maxFiles}) for one attempt` });
    else if (total + f.bytes > bounds.maxBytes) skip.push({ ...f, reason: `over maxBytes (${bounds.maxBytes}) for one attempt` });
    else {
      keep.push(f);
      total += f.bytes;
    }
  }
  return { keep, skip };
}

/** The task's records after an attempt: one record per (attempt, path), the attempt's newest; bounded, newest kept. */
export function mergeArtifacts(known: readonly ArtifactRecord[] | undefined, more: readonly ArtifactRecord[] | undefined, limit = TASK_ARTIFACTS_LIMIT): ArtifactRecord[] {
  const byKey = new Map<string, ArtifactRecord>();
  for (const r of [...(known ?? []), ...(more ?? [])]) {
    const key = `${r.attempt}\u0000${r.path}`;
    byKey.delete(key);
    byKey.set(key, r);
  }
  return [...byKey.values()].slice(-limit);
}

/** The newer of two checkpoints (by sequence number). */
export function newerCheckpoint(a: CheckpointRef | undefined, b: CheckpointRef | undefined): CheckpointRef | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.seq > a.seq ? b : a;
}

/** Where a task stands after an attempt carried this back: its newest checkpoint and all its artifacts. */
export function absorbCarry<S extends { checkpoint?: CheckpointRef; artifacts?: ArtifactRecord[]; artifactsSkipped?: SkippedArtifact[] }>(state: S, carry: AttemptCarry | undefined): void {
  if (!carry) return;
  const checkpoint = newerCheckpoint(state.checkpoint, carry.checkpoint);
  if (checkpoint) state.checkpoint = checkpoint;
  if (carry.artifacts?.length) state.artifacts = mergeArtifacts(state.artifacts, carry.artifacts);
  if (carry.artifactsSkipped?.length) state.artifactsSkipped = [...(state.artifactsSkipped ?? []), ...carry.artifactsSkipped].slice(-TASK_SKIPPED_LIMIT);
}

/** How a resume reads in the recovery log. */
export function describeCheckpoint(c: CheckpointRef): string {
  return `checkpoint ${c.seq} (attempt ${c.attempt} on ${c.host}, ${c.bytes} bytes ${c.inline !== undefined ? 'inline' : `at ${c.url}`})`;
}
