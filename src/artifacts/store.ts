/**
 * The artifact store: where attempts keep their artifacts and large checkpoints. A local directory by default (shared
 * by the workers of one machine, or across machines on a shared file system), or any S3-compatible store through the
 * AWS SDK (credentials from the standard AWS environment: AWS_ACCESS_KEY_ID, AWS_PROFILE, instance roles, …).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactsConfig, parseS3Url, s3Key, s3Url } from '../domain/artifacts';

export interface ArtifactStore {
  /** For logs: `local /path` or `s3://bucket/prefix`. */
  readonly description: string;
  /**
   * Stores a file (by path) or bytes under `key`; returns the URL it can be read back from and the bytes stored (a
   * file the command still appends to is stored as it was when the copy began).
   */
  put(key: string, body: { file: string } | { bytes: Buffer }): Promise<{ url: string; bytes: number }>;
  /** Reads back what `put` returned the URL of. */
  get(url: string): Promise<Buffer>;
}

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }
  get description() {
    return `local ${this.root}`;
  }
  async put(key: string, body: { file: string } | { bytes: Buffer }): Promise<{ url: string; bytes: number }> {
    const dest = path.join(this.root, ...key.split('/'));
    if (!dest.startsWith(this.root + path.sep)) throw new Error(`artifact key ${JSON.stringify(key)} leaves the store`);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    // Written beside, then renamed: a reader never sees half a file, and a re-upload replaces the old one whole.
    const tmp = `${dest}.part-${process.pid}`;
    if ('file' in body) await fs.copyFile(body.file, tmp);
    else await fs.writeFile(tmp, body.bytes);
    const { size } = await fs.stat(tmp);
    await fs.rename(tmp, dest);
    return { url: pathToFileURL(dest).href, bytes: size };
  }
  async get(url: string): Promise<Buffer> {
    if (!url.startsWith('file:')) throw new Error(`the local artifact store cannot read ${url}`);
    return fs.readFile(fileURLToPath(url));
  }
}

export interface S3StoreOptions {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** For tests: a client of one's own. */
  client?: S3Client;
}

/** Loaded only by a worker that uses S3: the SDK is large, and warns about Node versions at load. */
const s3sdk = () => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

export class S3ArtifactStore implements ArtifactStore {
  private readonly client: S3Client;
  constructor(private readonly opts: S3StoreOptions) {
    this.client =
      opts.client ??
      new (s3sdk().S3Client)({
        region: opts.region ?? 'us-east-1',
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
        maxAttempts: 3,
      });
  }
  get description() {
    return `${s3Url(this.opts.bucket, this.opts.prefix ?? '')}${this.opts.endpoint ? ` at ${this.opts.endpoint}` : ''}`;
  }
  /** The object key of a store key: under the configured prefix. */
  objectKey(key: string): string {
    return s3Key(this.opts.prefix ?? '', key);
  }
  async put(key: string, body: { file: string } | { bytes: Buffer }): Promise<{ url: string; bytes: number }> {
    const Key = this.objectKey(key);
    const ContentLength = 'file' in body ? (await fs.stat(body.file)).size : body.bytes.length;
    // Exactly the bytes stat saw: a file that grows meanwhile must not outrun its Content-Length.
    const Body = 'file' in body ? (ContentLength ? createReadStream(body.file, { start: 0, end: ContentLength - 1 }) : Buffer.alloc(0)) : body.bytes;
    await this.client.send(new (s3sdk().PutObjectCommand)({ Bucket: this.opts.bucket, Key, Body, ContentLength }));
    return { url: s3Url(this.opts.bucket, Key), bytes: ContentLength };
  }
  async get(url: string): Promise<Buffer> {
    const where = parseS3Url(url);
    if (!where) throw new Error(`the S3 artifact store cannot read ${url}`);
    const out = await this.client.send(new (s3sdk().GetObjectCommand)({ Bucket: where.bucket, Key: where.key }));
    if (!out.Body) throw new Error(`${url}: empty response`);
    return Buffer.from(await out.Body.transformToByteArray());
  }
  destroy(): void {
    this.client.destroy();
  }
}

/** The store a deployment names: S3 when `artifacts.s3` is set, else the local directory (`--artifact-dir` wins). */
export function createArtifactStore(config: ArtifactsConfig | undefined, opts: { dir?: string; cwd?: string } = {}): ArtifactStore {
  if (config?.s3 && !opts.dir) return new S3ArtifactStore(config.s3);
  const dir = opts.dir ?? config?.dir ?? process.env.DTF_ARTIFACT_DIR ?? path.join('.dtf', 'artifacts');
  return new LocalArtifactStore(path.resolve(opts.cwd ?? process.cwd(), dir));
}
