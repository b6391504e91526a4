/**
 * `dtf worker --run-as`: on a real worker started as root, commands, setup steps and teardowns run as `nobody`, in a
 * workspace it owns, and cannot read the worker's private files. Runs only where the tests run as root.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftoversOn } from '../../src/activities/saga';
import { DTF_BIN, LocalFleet } from '../../src/server/local-fleet';
import { resolveRunAs } from '../../src/workers/run-as';
import { runTask, startTestFleet, testAddress } from '../helpers';

const asRoot = process.getuid?.() === 0;
const nobody = asRoot ? resolveRunAs('nobody') : undefined;
const maybe = asRoot ? describe : describe.skip;

maybe('--run-as nobody on a root worker', () => {
  let fleet: LocalFleet;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-runas-'));
  const workDir = path.join(root, 'work');
  const privateFile = path.join(root, 'worker-only.key');
  const artifacts = path.join(root, 'artifacts');

  beforeAll(async () => {
    fs.chmodSync(root, 0o755); // mkdtemp makes it 0700: nobody could not reach the work dir
    fs.writeFileSync(privateFile, 'worker key', { mode: 0o600 });
    fs.mkdirSync(artifacts, { mode: 0o777 });
    fs.chmodSync(artifacts, 0o777);
    fleet = await startTestFleet([{ hostId: 'runas-a', extraArgs: ['--run-as', 'nobody', '--work-dir', workDir] }]);
  });
  afterAll(async () => {
    await fleet?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('the command runs as the user, with its HOME, in a workspace it owns, and cannot read the worker\'s files', async () => {
    const script = [
      'const fs = require("fs");',
      'fs.writeFileSync("out.txt", "written");', // the workspace is the user's
      'let key; try { key = fs.readFileSync(process.argv[1], "utf8"); } catch (e) { key = e.code; }',
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), home: process.env.HOME, owner: fs.statSync(".").uid, key }));',
    ].join(' ');
    const mark = (what: string) => [process.execPath, '-e', `require("fs").writeFileSync(${JSON.stringify(path.join(artifacts, what))}, String(process.getuid()))`];
    const r = await runTask(fleet.client, {
      name: 'as-nobody',
      command: [process.execPath, '-e', script, privateFile],
      setup: [{ name: 'fixture', command: mark('setup'), teardown: mark('teardown') }],
    });
    expect(r.status).toBe('passed');
    expect(JSON.parse(r.outputTail.trim())).toEqual({ uid: nobody!.uid, gid: nobody!.gid, home: nobody!.home, owner: nobody!.uid, key: 'EACCES' });
    expect(fs.readFileSync(path.join(artifacts, 'setup'), 'utf8')).toBe(String(nobody!.uid));
    expect(fs.readFileSync(path.join(artifacts, 'teardown'), 'utf8')).toBe(String(nobody!.uid));
    expect(await leftoversOn(workDir)).toEqual([]); // the worker removes what nobody wrote
  });
});

test('a worker asked to run commands as a user that does not exist refuses to start, naming it', () => {
  const res = spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), 'worker', '--host-id', 'runas-bad', '--run-as', 'dtf-no-such-user-x7'], { encoding: 'utf8', timeout: 60_000 });
  expect(res.status).not.toBe(0);
  expect(res.stderr).toContain('--run-as dtf-no-such-user-x7: no such user on this host');
});
