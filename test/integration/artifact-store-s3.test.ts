/**
 * The S3 artifact store against a real S3-compatible server (moto's standalone server, `pip install
 * "moto[server]"`): set DTF_TEST_MOTO_SERVER to its `moto_server`, or have it on PATH; without it these tests are
 * skipped (the key layout is covered by test/unit/artifacts.test.ts either way). A real worker with `artifacts.s3`
 * keeps a task's artifacts there and resumes its retry from a checkpoint too large to go inline, read back from S3.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3ArtifactStore } from '../../src/artifacts/store';
import { freePort, isPortOpen } from '../../src/server/dev-server';
import { LocalFleet } from '../../src/server/local-fleet';
import { runTask, startTestFleet } from '../helpers';

const motoServer =
  process.env.DTF_TEST_MOTO_SERVER ?? (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'moto_server')).find((f) => fs.existsSync(f));
const maybe = motoServer ? describe : describe.skip;
if (!motoServer) console.warn('artifact-store-s3: no moto_server (DTF_TEST_MOTO_SERVER or PATH): S3 tests skipped');

const credentials = { AWS_ACCESS_KEY_ID: 'dtf-test', AWS_SECRET_ACCESS_KEY: 'dtf-test-secret', AWS_REGION: 'us-east-1' };
const BUCKET = 'dtf-artifacts';

maybe('the S3 artifact store on an S3-compatible server', () => {
  let moto: ChildProcess;
  let endpoint: string;
  let s3: S3Client;
  let fleet: LocalFleet | undefined;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-s3-'));

  beforeAll(async () => {
    const port = await freePort();
    moto = spawn(motoServer!, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (!(await isPortOpen('127.0.0.1', port))) {
      if (Date.now() > deadline) throw new Error('moto_server did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: credentials.AWS_ACCESS_KEY_ID, secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY } });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    await fleet?.stop();
    s3?.destroy();
    moto?.kill('SIGTERM');
  });

  const keys = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => [o.Key, o.Size]);

  it('puts files and bytes under its prefix and reads them back', async () => {
    const store = new S3ArtifactStore({ bucket: BUCKET, prefix: 'unit', endpoint, client: s3 });
    const file = path.join(root, 'report.xml');
    fs.writeFileSync(file, '<testsuite tests="1"/>');
    expect(await store.put('dtf-t-b/1/reports/report.xml', { file })).toEqual({ url: `s3://${BUCKET}/unit/dtf-t-b/1/reports/report.xml`, bytes: 22 });
    const { url } = await store.put('dtf-t-b/checkpoints/000001.tar.gz', { bytes: Buffer.from('packed') });
    expect((await store.get(url)).toString()).toBe('packed');
    expect(await keys('unit/')).toEqual([
      ['unit/dtf-t-b/1/reports/report.xml', 22],
      ['unit/dtf-t-b/checkpoints/000001.tar.gz', 6],
    ]);
    await expect(store.get(`s3://${BUCKET}/unit/nothing-here`)).rejects.toThrow();
  });

  it('a worker with artifacts.s3 keeps artifacts there and resumes a retry from a large checkpoint read back from S3', async () => {
    const config = path.join(root, 'deployment.yaml');
    fs.writeFileSync(config, `artifacts:\n  s3: {bucket: ${BUCKET}, prefix: fleet, endpoint: "${endpoint}"}\n  checkpointInlineBytes: 1024\n`);
    fleet = await startTestFleet([{ hostId: 's3-a', extraArgs: ['--config', config, '--work-dir', path.join(root, 'work')], env: credentials }]);
    const script = [
      "const fs=require('fs'),crypto=require('crypto'),d=process.env.DTF_CHECKPOINT_DIR;",
      "fs.writeFileSync('run.log','attempt '+process.env.DTF_ATTEMPT+' restored='+process.env.DTF_CHECKPOINT_RESTORED);",
      "if(!fs.existsSync(d+'/weights.bin')){fs.writeFileSync(d+'/weights.bin',crypto.randomBytes(64*1024));console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}",
      "console.log('weights restored: '+fs.statSync(d+'/weights.bin').size+' bytes');",
    ].join('');
    const r = await runTask(fleet.client, {
      name: 's3-resume',
      command: [process.execPath, '-e', script],
      artifacts: ['*.log'],
      retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 200, maxDelayMs: 200 } },
    });
    expect(r.status).toBe('passed');
    expect(r.outputTail).toContain('weights restored: 65536 bytes');
    const resume = r.recoveryLog.find((e) => e.action === 'resume')!;
    expect(resume.reason).toMatch(new RegExp(`^resumed from checkpoint 1 \\(attempt 1 on s3-a, \\d+ bytes at s3://${BUCKET}/fleet/${r.workflowId}/checkpoints/000001\\.tar\\.gz\\)`));
    expect(r.artifacts!.map((a) => [a.attempt, a.path, a.url])).toEqual([
      [1, 'run.log', `s3://${BUCKET}/fleet/${r.workflowId}/1/run.log`],
      [2, 'run.log', `s3://${BUCKET}/fleet/${r.workflowId}/2/run.log`],
    ]);
    const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `fleet/${r.workflowId}/2/run.log` }));
    expect(await body.Body!.transformToString()).toBe('attempt 2 restored=1');
    expect((await keys(`fleet/${r.workflowId}/`)).map(([k]) => k)).toEqual([
      `fleet/${r.workflowId}/1/run.log`,
      `fleet/${r.workflowId}/2/run.log`,
      `fleet/${r.workflowId}/checkpoints/000001.tar.gz`,
    ]);
  }, 90_000);
});
