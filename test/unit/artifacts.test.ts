/** Checkpoints and artifacts: store keys, bounds, what a task keeps across attempts, packing and restoring. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AttemptCarrier, packDir } from '../../src/activities/attempt-carry';
import { LocalArtifactStore, S3ArtifactStore, createArtifactStore } from '../../src/artifacts/store';
import { DeploymentConfig } from '../../src/config/deployment';
import {
  ArtifactRecord,
  ArtifactsConfig,
  CheckpointRef,
  absorbCarry,
  artifactKey,
  checkpointKey,
  mergeArtifacts,
  parseS3Url,
  s3Key,
  selectWithinBounds,
} from '../../src/domain/artifacts';
import { TestTaskSpec, formatZodIssues } from '../../src/domain/task-spec';

const silent = pino({ level: 'silent' });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-artifacts-'));

describe('store keys', () => {
  it('lays artifacts out by workflow and attempt, checkpoints by sequence', () => {
    expect(artifactKey('dtf-train-b1', 2, 'out/model.bin')).toBe('dtf-train-b1/2/out/model.bin');
    expect(artifactKey('dtf-a/b c', 1, './logs//x.log')).toBe('dtf-a_b_c/1/logs/x.log');
    expect(checkpointKey('dtf-train-b1', 7)).toBe('dtf-train-b1/checkpoints/000007.tar.gz');
    expect(() => artifactKey('w', 1, '../etc/passwd')).toThrow(/leaves the working directory/);
  });

  it('puts S3 keys under the configured prefix and reads its own URLs back', () => {
    expect(s3Key('', 'w/1/a.txt')).toBe('w/1/a.txt');
    expect(s3Key('/fleet/dtf/', 'w/1/a.txt')).toBe('fleet/dtf/w/1/a.txt');
    const store = new S3ArtifactStore({ bucket: 'ml-artifacts', prefix: 'dtf', endpoint: 'http://127.0.0.1:9' });
    expect(store.objectKey(artifactKey('dtf-x-b', 3, 'out/r.json'))).toBe('dtf/dtf-x-b/3/out/r.json');
    expect(parseS3Url('s3://ml-artifacts/dtf/dtf-x-b/3/out/r.json')).toEqual({ bucket: 'ml-artifacts', key: 'dtf/dtf-x-b/3/out/r.json' });
    expect(parseS3Url('file:///tmp/x')).toBeUndefined();
    store.destroy();
  });

  it('picks the store from the deployment config; --artifact-dir wins', () => {
    const s3 = ArtifactsConfig.parse({ s3: { bucket: 'ml-artifacts', endpoint: 'http://minio:9000' } });
    expect(createArtifactStore(s3).description).toBe('s3://ml-artifacts/ at http://minio:9000');
    expect(createArtifactStore(s3, { dir: '/srv/a' })).toBeInstanceOf(LocalArtifactStore);
    expect(createArtifactStore(ArtifactsConfig.parse({}), { cwd: '/w' }).description).toBe('local /w/.dtf/artifacts');
  });

  it('refuses a bad artifacts config with its path', () => {
    const bad = DeploymentConfig.safeParse({ artifacts: { s3: { bucket: 'Bad_Bucket' }, maxFiles: -1, colour: 1 } });
    expect(bad.success).toBe(false);
    const issues = formatZodIssues((bad as { error: Parameters<typeof formatZodIssues>[0] }).error).join('\n');
    expect(issues).toMatch(/artifacts\.s3\.bucket: expected an S3 bucket name/);
    expect(issues).toMatch(/artifacts\.maxFiles/);
    expect(issues).toMatch(/artifacts: Unrecognized key/);
  });
});

describe('the spec\'s artifacts', () => {
  it('takes globs relative to the working directory only', () => {
    expect(TestTaskSpec.parse({ name: 't', command: ['x'], artifacts: ['out/**', 'report.xml'] }).artifacts).toEqual(['out/**', 'report.xml']);
    expect(TestTaskSpec.parse({ name: 't', command: ['x'] }).artifacts).toEqual([]);
    const bad = TestTaskSpec.safeParse({ name: 't', command: ['x'], artifacts: ['/etc/*', 'a/../../b'] });
    expect(bad.success).toBe(false);
    const issues = formatZodIssues((bad as { error: Parameters<typeof formatZodIssues>[0] }).error);
    expect(issues).toEqual([expect.stringMatching(/^artifacts\[0\]: .*not an absolute path/), expect.stringMatching(/^artifacts\[1\]: .*no "\.\."/)]);
  });
});

describe('bounds and merging', () => {
  it('keeps files in path order within the per-attempt bounds and says why the rest was skipped', () => {
    const files = [
      { path: 'c.bin', bytes: 50 },
      { path: 'a.log', bytes: 10 },
      { path: 'huge.ckpt', bytes: 5_000 },
      { path: 'b.log', bytes: 30 },
      { path: 'd.log', bytes: 1 },
    ];
    const { keep, skip } = selectWithinBounds(files, { maxFiles: 3, maxBytes: 60, maxFileBytes: 1_000 });
    expect(keep.map((f) => f.path)).toEqual(['a.log', 'b.log', 'd.log']);
    expect(skip).toEqual([
      { path: 'c.bin', bytes: 50, reason: 'over maxBytes (60) for one attempt' },
      { path: 'huge.ckpt', bytes: 5_000, reason: 'larger than maxFileBytes (1000)' },
    ]);
    expect(selectWithinBounds(files, { maxFiles: 2, maxBytes: 1e9, maxFileBytes: 1e9 }).skip.map((s) => s.reason)).toEqual([
      'over maxFiles (2) for one attempt',
      'over maxFiles (2) for one attempt',
      'over maxFiles (2) for one attempt',
    ]);
  });

  it('keeps one record per attempt and path, the newest, and the newest checkpoint', () => {
    const rec = (attempt: number, p: string, bytes: number): ArtifactRecord => ({ path: p, url: `file:///s/${attempt}/${p}`, bytes, attempt, host: `h${attempt}` });
    expect(mergeArtifacts([rec(1, 'a', 1), rec(1, 'b', 1)], [rec(1, 'a', 5), rec(2, 'a', 2)])).toEqual([rec(1, 'b', 1), rec(1, 'a', 5), rec(2, 'a', 2)]);
    expect(mergeArtifacts([rec(1, 'a', 1), rec(1, 'b', 1), rec(1, 'c', 1)], [], 2).map((r) => r.path)).toEqual(['b', 'c']);
    const cp = (seq: number): CheckpointRef => ({ seq, attempt: 1, host: 'h', bytes: 1, sha256: 'x', at: '', inline: '' });
    const state: { checkpoint?: CheckpointRef; artifacts?: ArtifactRecord[] } = {};
    absorbCarry(state, { checkpoint: cp(3), artifacts: [rec(1, 'a', 1)] });
    absorbCarry(state, { checkpoint: cp(2) }); // an older one (a late heartbeat) never replaces a newer one
    expect(state.checkpoint!.seq).toBe(3);
    expect(state.artifacts).toHaveLength(1);
  });
});

describe('AttemptCarrier', () => {
  const config = (over: Partial<ArtifactsConfig> = {}) => ArtifactsConfig.parse({ checkpointSettleMs: 0, ...over });

  function carrier(root: string, over: Partial<ConstructorParameters<typeof AttemptCarrier>[0]> = {}) {
    const store = new LocalArtifactStore(path.join(root, 'store'));
    return new AttemptCarrier({ store, config: config(), workflowId: 'dtf-t-b', attempt: 1, host: 'h1', log: silent, artifacts: [], ...over });
  }

  it('packs a small checkpoint inline, a large one into the store, and restores either on the next attempt', async () => {
    const root = tmp();
    const store = new LocalArtifactStore(path.join(root, 'store'));
    const first = carrier(root, { store, config: config({ checkpointInlineBytes: 1024 }) });
    const dir1 = path.join(root, 'a1.checkpoint');
    expect(await first.prepare(dir1, root)).toBeUndefined();
    await first.finish();
    expect(first.carry()).toEqual({}); // nothing written: no checkpoint
    fs.writeFileSync(path.join(dir1, 'progress.json'), '{"done":4}');
    await first.finish();
    const small = first.carry().checkpoint!;
    expect(small).toMatchObject({ seq: 1, attempt: 1, host: 'h1' });
    expect(small.inline).toBeDefined();
    expect(small.url).toBeUndefined();
    await first.finish(); // unchanged: no new checkpoint
    expect(first.carry().checkpoint!.seq).toBe(1);

    fs.mkdirSync(path.join(dir1, 'weights'));
    fs.writeFileSync(path.join(dir1, 'weights', 'w.bin'), crypto.randomBytes(64 * 1024));
    await first.finish();
    const large = first.carry().checkpoint!;
    expect(large.seq).toBe(2);
    expect(large.inline).toBeUndefined();
    expect(large.url).toMatch(/^file:.*\/store\/dtf-t-b\/checkpoints\/000002\.tar\.gz$/);
    expect(fs.statSync(fileURLToPath(large.url!)).size).toBe(large.bytes);

    for (const given of [small, large]) {
      const next = carrier(root, { store, given, attempt: 2, host: 'h2' });
      const dir2 = fs.mkdtempSync(path.join(root, 'a2-'));
      expect(await next.prepare(dir2, root)).toBe(given.seq);
      expect(JSON.parse(fs.readFileSync(path.join(dir2, 'progress.json'), 'utf8'))).toEqual({ done: 4 });
      expect(fs.existsSync(path.join(dir2, 'weights', 'w.bin'))).toBe(given === large);
      // Restored and unchanged: the next attempt carries the same checkpoint on; a change makes the next number.
      await next.finish();
      expect(next.carry().checkpoint!.seq).toBe(given.seq);
      fs.writeFileSync(path.join(dir2, 'progress.json'), '{"done":5}');
      await next.finish();
      expect(next.carry().checkpoint).toMatchObject({ seq: given.seq + 1, attempt: 2, host: 'h2' });
    }
  });

  it('packs a change once it has settled, looking again when it would have, not a whole tick later', async () => {
    const root = tmp();
    let changes = 0;
    const c = carrier(root, { config: config({ checkpointSettleMs: 200 }), onChange: () => (changes += 1) });
    const dir = path.join(root, 'ckpt');
    await c.prepare(dir, root);
    fs.writeFileSync(path.join(dir, 'shard-1'), 'a');
    c.tick(); // just written: not settled, so not packed yet
    await new Promise((r) => setTimeout(r, 100));
    expect(c.carry().checkpoint).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400)); // no second tick: the look-again packs it
    expect(c.carry().checkpoint).toMatchObject({ seq: 1 });
    expect(changes).toBe(1);
    await c.finish();
  });

  it('starts from the beginning, and says so, when the checkpoint cannot be read or does not match', async () => {
    const root = tmp();
    const dir = path.join(root, 'src');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'p'), 'x');
    const bytes = await packDir(dir);
    const bad: CheckpointRef = { seq: 3, attempt: 1, host: 'h1', bytes: bytes.length, sha256: '0'.repeat(64), at: '', inline: bytes.toString('base64') };
    const c = carrier(root, { given: bad });
    expect(await c.prepare(path.join(root, 'd1'), root)).toBeUndefined();
    expect(c.carry().restoreError).toMatch(/checkpoint 3 could not be restored on h1: .*sha256/);
    expect(fs.readdirSync(path.join(root, 'd1'))).toEqual([]);
    const gone = carrier(root, { given: { ...bad, inline: undefined, url: 'file:///nonexistent/dtf/000003.tar.gz' } });
    expect(await gone.prepare(path.join(root, 'd2'), root)).toBeUndefined();
    expect(gone.carry().restoreError).toMatch(/ENOENT/);
  });

  it('copies the matched artifacts within the bounds, again when they change, and records what it skipped', async () => {
    const root = tmp();
    const cwd = path.join(root, 'ws');
    fs.mkdirSync(path.join(cwd, 'out'), { recursive: true });
    fs.writeFileSync(path.join(cwd, 'out', 'a.log'), 'one\n');
    fs.writeFileSync(path.join(cwd, 'out', 'b.log'), 'two\n');
    fs.writeFileSync(path.join(cwd, 'out', 'z.bin'), Buffer.alloc(2_000));
    fs.writeFileSync(path.join(cwd, 'other.txt'), 'not matched');
    const c = carrier(root, { artifacts: ['out/**', 'missing/*.xml'], config: config({ maxFiles: 2, maxFileBytes: 1_000 }) });
    await c.prepare(path.join(root, 'ckpt'), cwd);
    await c.finish();
    const carry = c.carry();
    expect(carry.artifacts!.map((a) => [a.path, a.bytes, a.attempt, a.host])).toEqual([
      ['out/a.log', 4, 1, 'h1'],
      ['out/b.log', 4, 1, 'h1'],
    ]);
    expect(fs.readFileSync(fileURLToPath(carry.artifacts![0].url), 'utf8')).toBe('one\n');
    expect(carry.artifacts![0].url).toMatch(/\/store\/dtf-t-b\/1\/out\/a\.log$/);
    expect(carry.artifactsSkipped).toEqual([{ path: 'out/z.bin', bytes: 2_000, attempt: 1, host: 'h1', reason: 'larger than maxFileBytes (1000)' }]);
    fs.appendFileSync(path.join(cwd, 'out', 'a.log'), 'more\n');
    await c.finish();
    const again = c.carry().artifacts!.find((a) => a.path === 'out/a.log')!;
    expect(again.bytes).toBe(9);
    expect(fs.readFileSync(fileURLToPath(again.url), 'utf8')).toBe('one\nmore\n');
  });
});
