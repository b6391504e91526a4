/**
 * The start-up sweep on a real directory: it removes what dtf made (marked workspaces, leases, manifests, whose
 * teardowns it runs) and nothing else, so a work dir that is also someone's home keeps its files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { HostSaga, acquireGpuLease, createWorkspace, leftoversOn, manifestDir, sweepLeftovers, writeGpuLeaseFiles } from '../../src/activities/saga';
import { workspaceName } from '../../src/activities/task';

function captureLogger() {
  const lines: { msg: string; entries?: string[]; count?: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-sweep-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const exists = (...p: string[]) => fs.existsSync(path.join(root, ...p));

/** What a killed worker leaves: a workspace with files, a GPU lease, and a manifest with a teardown not yet run. */
async function leaveDtfLeftovers(): Promise<{ workspace: string; teardownRan: string }> {
  const { logger } = captureLogger();
  const name = workspaceName('dtf-train-b1', 0, 1);
  const workspace = await createWorkspace(root, name, 'dtf-train-b1');
  fs.writeFileSync(path.join(workspace, 'model.bin'), 'weights');
  const saga = new HostSaga(root, name, logger);
  await saga.register({ kind: 'workspace', path: workspace });
  for (const lease of await writeGpuLeaseFiles(root, [0], 'dtf-train-b1')) await saga.register({ kind: 'gpu-lease', ...lease });
  const teardownRan = path.join(os.tmpdir(), `dtf-sweep-teardown-${process.pid}-${Date.now()}`);
  await saga.register({ kind: 'teardown', name: 'dataset', command: ['touch', teardownRan], cwd: workspace, env: { PATH: process.env.PATH! }, timeoutSeconds: 10 });
  expect(await acquireGpuLease(root, [1], 'dtf-other-b1')).toMatchObject({ gpu: 1 });
  return { workspace, teardownRan };
}

test('removes dtf\'s workspace, leases and manifest, runs the teardown, and leaves a foreign file and directory alone', async () => {
  const { workspace, teardownRan } = await leaveDtfLeftovers();
  fs.writeFileSync(path.join(root, 'notes.txt'), 'mine');
  fs.mkdirSync(path.join(root, 'projects', 'thesis'), { recursive: true });
  fs.writeFileSync(path.join(root, 'projects', 'thesis', 'draft.tex'), 'mine too');
  expect((await leftoversOn(root)).sort()).toEqual(
    [`workspace:${path.basename(workspace)}`, 'lease:gpu-0.lease', 'lease:gpu-1.lease', `manifest:${path.basename(workspace)}.json`].sort(),
  );

  const { logger, lines } = captureLogger();
  const records = await sweepLeftovers(root, logger);
  try {
    expect(fs.existsSync(teardownRan)).toBe(true);
  } finally {
    fs.rmSync(teardownRan, { force: true });
  }
  expect(records.map((r) => r.step)).toEqual(expect.arrayContaining(['teardown dataset', 'release GPU 0', 'release GPU 1', `remove workspace ${path.basename(workspace)}`]));
  expect(await leftoversOn(root)).toEqual([]);
  expect(fs.existsSync(workspace)).toBe(false);
  expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('mine');
  expect(fs.readFileSync(path.join(root, 'projects', 'thesis', 'draft.tex'), 'utf8')).toBe('mine too');
  const foreign = lines.filter((l) => /not made by dtf/.test(l.msg));
  expect(foreign).toHaveLength(1);
  expect(foreign[0].entries?.sort()).toEqual(['notes.txt', 'projects']);
});

test('a work dir that is a home directory keeps everything that dtf did not make, however it is named or shaped', async () => {
  const home = {
    '.bashrc': 'export PS1=…',
    '.ssh/id_ed25519': '-----BEGIN OPENSSH PRIVATE KEY-----',
    'Documents/report.pdf': '%PDF',
    // Named like a workspace, but dtf never marked it.
    'experiment-p0-a1/results.csv': '1,2,3',
    // dtf's own folders with files dtf did not write there.
    '.leases/gpu-3.lease': 'someone else',
    '.leases/README': 'hands off',
    '.manifests/backup-p0-a1.json': '[{"kind":"workspace","path":"/"}]',
    '.workspaces/notes': 'not a marker',
  };
  for (const [file, content] of Object.entries(home)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  // A marked-looking manifest (dtf's format) whose workspace undo points at a folder dtf did not make.
  fs.writeFileSync(
    path.join(manifestDir(root), 'forged-p0-a1.json'),
    JSON.stringify({ marker: 'dtf-owned/v1', kind: 'manifest', undos: [{ kind: 'workspace', path: path.join(root, 'Documents') }, { kind: 'workspace', path: path.join(root, 'experiment-p0-a1') }] }),
  );
  // A link named like a workspace, with a marker, pointing at a folder of the user's: the link is not a workspace.
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-sweep-outside-'));
  fs.writeFileSync(path.join(outside, 'keep.txt'), 'keep');
  fs.symlinkSync(outside, path.join(root, 'linked-p0-a1'));
  fs.writeFileSync(path.join(root, '.workspaces', 'linked-p0-a1'), JSON.stringify({ marker: 'dtf-owned/v1', kind: 'workspace', name: 'linked-p0-a1', owner: 'x' }));
  try {
    const { logger, lines } = captureLogger();
    await sweepLeftovers(root, logger);
    await sweepLeftovers(root, logger); // a second start changes nothing either
    for (const [file, content] of Object.entries(home)) expect(fs.readFileSync(path.join(root, file), 'utf8')).toBe(content);
    expect(exists('Documents')).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
    expect(fs.lstatSync(path.join(root, 'linked-p0-a1')).isSymbolicLink()).toBe(true);
    const foreign = lines.filter((l) => /not made by dtf/.test(l.msg));
    expect(foreign).toHaveLength(2); // once per sweep
    expect(foreign[0].entries).toEqual(expect.arrayContaining(['.bashrc', '.ssh', 'Documents', 'experiment-p0-a1', 'linked-p0-a1', '.leases/gpu-3.lease', '.leases/README', '.manifests/backup-p0-a1.json', '.workspaces/notes']));
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('a marker whose workspace never got made (a crash in between) is cleared', async () => {
  const name = workspaceName('dtf-x-b1', 1, 2);
  await createWorkspace(root, name, 'dtf-x-b1');
  fs.rmdirSync(path.join(root, name));
  expect(await leftoversOn(root)).toEqual([`workspace:${name}`]);
  await sweepLeftovers(root, captureLogger().logger);
  expect(await leftoversOn(root)).toEqual([]);
});
