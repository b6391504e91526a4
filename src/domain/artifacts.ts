/**
 * The deployment's `artifacts:` section (and `dtf worker --artifact-dir`). Checkpoints and artifacts themselves are
 * plain data in carry.ts, re-exported here; that module has no schema library, so the workflow can import it cheaply.
 */
import { z } from 'zod';
import { DEFAULT_CHECKPOINT_INLINE_BYTES } from './carry';

export * from './carry';

/** The deployment's `artifacts:` section (and `dtf worker --artifact-dir`). */
export const ArtifactsConfig = z
  .object({
    /** The local store's root (default `.dtf/artifacts` under the worker's current directory). */
    dir: z.string().min(1).optional(),
    /** An S3-compatible store instead of the local directory; credentials come from the standard AWS environment. */
    s3: z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lowercase letters, digits, "." or "-")'),
        prefix: z.string().regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'expected a key prefix of letters, digits and !_.*\'()/-').default(''),
        /** For MinIO, Ceph, R2 and the like: e.g. http://minio:9000. Default: AWS's own endpoint for the region. */
        endpoint: z.string().url().optional(),
        region: z.string().min(1).default('us-east-1'),
        /** Bucket in the path (`endpoint/bucket/key`), as most S3-compatible servers want. Default: true with an endpoint. */
        forcePathStyle: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** Per attempt: files kept, their total bytes, and the largest single file. */
    maxFiles: z.number().int().min(0).max(10_000).default(100),
    maxBytes: z.number().int().min(0).default(1024 ** 3),
    maxFileBytes: z.number().int().min(0).default(512 * 1024 ** 2),
    /** Checkpoints up to this size travel in heartbeat details; larger ones go to the store, referenced. */
    checkpointInlineBytes: z.number().int().min(0).max(1024 * 1024).default(DEFAULT_CHECKPOINT_INLINE_BYTES),
    /** Checkpoints above this are not kept (logged): the command must write less. */
    checkpointMaxBytes: z.number().int().min(0).default(4 * 1024 ** 3),
    /** A changed checkpoint directory is packed once its newest file is this old (writes settled) … */
    checkpointSettleMs: z.number().int().min(0).default(250),
    /** … or, if it never settles, at most this long after the last pack. */
    checkpointMaxWaitMs: z.number().int().min(0).default(10_000),
    /** While the command runs, its artifacts are also copied every this often (and at each checkpoint); 0: only after. */
    syncIntervalMs: z.number().int().min(0).default(30_000),
  })
  .strict();
export type ArtifactsConfig = z.infer<typeof ArtifactsConfig>;
