/**
 * The CLI views for people on a real server with real workers: the status page of a dead-lettered task, cancel of a
 * running task and of a batch (compensation ran), logs --follow of a running task, and the workers list.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, settledResult, startTasks } from '../../src/cli/submit';
import { DtfStatus } from '../../src/domain/search-attributes';
import { DTF_BIN, LocalFleet } from '../../src/server/local-fleet';
import type { WorkerRow } from '../../src/cli/views/workers-table';
import { node, spec, startTask, startTestFleet, testAddress, waitUntil } from '../helpers';

let fleet: LocalFleet;
const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-cv-'));
const workDir = (host: string) => path.join(workRoot, host);
const quarantineConfig = path.join(workRoot, 'quarantine.yaml');
fs.writeFileSync(quarantineConfig, 'quarantine: {threshold: 1, cooldownMs: 300000}\n');

beforeAll(async () => {
  fleet = await startTestFleet([
    { hostId: 'cv-cpu', extraArgs: ['--work-dir', workDir('cv-cpu')] },
    { hostId: 'cv-gpu', simulateGpus: ['A10:24:8.6'], extraArgs: ['--work-dir', workDir('cv-gpu')] },
    // Takes only tasks pinned to it; its first host error quarantines it.
    { hostId: 'cv-q', extraArgs: ['--work-dir', workDir('cv-q'), '--no-cpu-tasks', '--config', quarantineConfig] },
  ]);
});

afterAll(async () => {
  await fleet?.stop();
});

const dtf = (...args: string[]) => spawnSync(process.execPath, [DTF_BIN, '--address', testAddress(), ...args], { encoding: 'utf8' });

/** Workspaces of a task on either host (the attempt's undos remove them). */
const workspacesOf = (workflowId: string) =>
  ['cv-cpu', 'cv-gpu'].flatMap((h) => (fs.existsSync(workDir(h)) ? fs.readdirSync(workDir(h)).filter((f) => f.startsWith(workflowId)) : []));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A command that runs until stopped, writing its pid where the test can see it (outside its workspace). */
const endless = (pidFile: string) => ['bash', '-c', `echo $$ > ${pidFile}; i=0; while true; do i=$((i+1)); echo beat $i; sleep 0.3; done`];

test('the status page of a dead-lettered task is readable and names the redrive line', async () => {
  const handle = await startTask(fleet.client, { name: 'cv-config', command: node('scripts/bad-config.js') });
  expect((await settledResult(handle, 250)).status).toBe('dead_lettered');
  const res = dtf('status', handle.workflowId);
  expect(res.status).toBe(0);
  const lines = res.stdout.trimEnd().split('\n');
  expect(lines[0]).toBe(`${handle.workflowId}: DEAD_LETTERED (Temporal: RUNNING)`);
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(200); // no multi-KB JSON line
  expect(res.stdout).toMatch(/category {2}TEST_CONFIGURATION_ERROR \(validation\), rule /);
  expect(res.stdout).toMatch(/hardware {2}(ok: no overheating|OVERHEATING|MEMORY PRESSURE|THROTTLING)/);
  expect(res.stdout).toMatch(/TIME\s+WHERE\s+ACTION\s+HOST\s+CATEGORY\s+DETAIL/);
  expect(res.stdout).toContain(`dtf dlq redrive ${handle.workflowId} --spec FIXED.yaml`);
  expect(res.stdout).toContain('unrecognized arguments'); // the output tail
  // The machine form keeps the data.
  const json = JSON.parse(dtf('status', handle.workflowId, '--json').stdout) as { progress: { parked: { status: string } } };
  expect(json.progress.parked.status).toBe('dead_lettered');
  // Cancelled while parked, it leaves the dead letter queue as cancelled (not dead_lettered for ever).
  expect(dtf('cancel', handle.workflowId).stdout.trim()).toBe(`${handle.workflowId}: cancelled`);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
});

test('cancel of a running task: the command stops, its workspace is removed, the task ends cancelled', async () => {
  const pidFile = path.join(workRoot, 'cancel-one.pid');
  const handle = await startTask(fleet.client, { name: 'cv-cancel', command: endless(pidFile), timeoutSeconds: 300 });
  await waitUntil('the command to run in its workspace', () => fs.existsSync(pidFile) && workspacesOf(handle.workflowId).length === 1, 30_000);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  expect(alive(pid)).toBe(true);

  // While it runs, the host shows a busy slot (from the SDK's worker heartbeats, every 10 s).
  let busy: WorkerRow | undefined;
  await waitUntil(
    'a busy slot in dtf workers',
    () => {
      const rows = (JSON.parse(dtf('workers', '--json').stdout) as { workers: WorkerRow[] }).workers;
      busy = rows.find((r) => (r.busySlots ?? 0) > 0);
      return busy !== undefined;
    },
    30_000,
    1_000,
  );
  expect(busy!.busyByQueue).toEqual({ 'dtf-cpu': 1 });

  const res = dtf('cancel', handle.workflowId, '--reason', 'not needed');
  expect(res.stdout.trim()).toBe(`${handle.workflowId}: cancelled`);
  expect(res.status).toBe(0);
  expect(workspacesOf(handle.workflowId)).toEqual([]); // its undos ran before the task ended
  await waitUntil('the command to be stopped', () => !alive(pid), 10_000);
  const desc = await handle.describe();
  expect(desc.status.name).toBe('CANCELLED');
  expect(desc.typedSearchAttributes.get(DtfStatus)).toBe('cancelled');
  expect(dtf('status', handle.workflowId).stdout).toMatch(/CANCELLED \(Temporal: CANCELLED\)[\s\S]*cancelled\s+the workflow was cancelled/);
  // A task that has ended cannot be cancelled again.
  expect(dtf('cancel', handle.workflowId).status).toBe(2);
});

test('cancel --batch cancels every running task of the batch with one batch operation', async () => {
  const batch = newBatchId();
  const pidFile = (n: number) => path.join(workRoot, `batch-${n}.pid`);
  const handles = await startTasks(fleet.client, [1, 2, 3].map((n) => spec({ name: `cv-batch-${n}`, command: endless(pidFile(n)), timeoutSeconds: 300 })), batch);
  await waitUntil('two of them to run', () => [1, 2, 3].filter((n) => fs.existsSync(pidFile(n))).length >= 2, 30_000);
  const res = dtf('cancel', '--batch', batch);
  expect(res.stdout).toContain(`cancel requested for 3 running task(s) of batch ${batch}`);
  expect(res.stdout).toContain('3 task(s) cancelled');
  for (const h of handles) {
    const desc = await h.describe();
    expect({ id: h.workflowId, status: desc.status.name, dtf: desc.typedSearchAttributes.get(DtfStatus) }).toEqual({ id: h.workflowId, status: 'CANCELLED', dtf: 'cancelled' });
    expect(workspacesOf(h.workflowId)).toEqual([]);
  }
  expect(dtf('cancel', '--batch', batch).status).toBe(2); // nothing left to cancel
});

test('logs --follow prints a running task\'s lines as they come, each once, and ends with the task', async () => {
  const count = 25;
  const handle = await startTask(fleet.client, { name: 'cv-logs', command: ['bash', '-c', `for i in $(seq 1 ${count}); do echo "tick $i"; sleep 0.3; done`] });
  const started = Date.now();
  const follower = spawn(process.execPath, [DTF_BIN, '--address', testAddress(), 'logs', handle.workflowId, '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const arrivals: { line: string; atMs: number }[] = [];
  let stderr = '';
  let partial = '';
  follower.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) arrivals.push({ line, atMs: Date.now() - started });
  });
  follower.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => follower.once('exit', resolve));
  const endedAt = Date.now() - started;
  expect(code).toBe(0);
  expect(arrivals.map((a) => a.line)).toEqual(Array.from({ length: count }, (_, i) => `tick ${i + 1}`));
  // Lines came while the task ran, not all at its end.
  expect(arrivals[0].atMs).toBeLessThan(endedAt - 3_000);
  expect(stderr).toMatch(/-- attempt 1 on cv-(cpu|gpu)/);
  expect(stderr).toContain(`-- task ${handle.workflowId} ended: passed`);
  // Without --follow, a task that ended shows its output tail.
  expect(dtf('logs', handle.workflowId).stdout.trim().split('\n').at(-1)).toBe(`tick ${count}`);
});

test('dtf workers lists the hosts with their hardware and queues', () => {
  const res = dtf('workers', '--json');
  expect(res.status).toBe(0);
  const rows = (JSON.parse(res.stdout) as { workers: WorkerRow[] }).workers.filter((r) => r.hostId === 'cv-cpu' || r.hostId === 'cv-gpu');
  expect(rows.map((r) => r.hostId)).toEqual(['cv-cpu', 'cv-gpu']);
  expect(rows[0]).toMatchObject({ gpuCount: 0, cpuTasks: true, quarantine: 'none' });
  expect(rows[0].polling).toEqual(expect.arrayContaining(['dtf-workflows', 'dtf-cpu', 'dtf-host-cv-cpu']));
  expect(rows[1]).toMatchObject({ gpuCount: 1, gpuMemoryGb: 24, computeCapability: 8.6, quarantine: 'none' });
  expect(rows[1].polling).toEqual(expect.arrayContaining(['dtf-cuda-8gb', 'dtf-cuda-16gb', 'dtf-cuda-24gb', 'dtf-host-cv-gpu']));
  const table = dtf('workers').stdout;
  expect(table).toMatch(/^HOST\s+HARDWARE\s+POLLING\s+BUSY\s+QUARANTINE\s+SEEN$/m);
  expect(table).toMatch(/^cv-gpu\s+1 GPU 24 GB cc 8\.6\s+/m);
  expect(table).toMatch(/^cv-cpu\s+CPU only\s+/m);
});

test('dtf workers shows a host that quarantined itself, with why and for how long', async () => {
  const handle = await startTask(fleet.client, { name: 'cv-crash', command: node('scripts/sleep.js', '0.1'), host: 'cv-q', inject: { WORKER_CRASH_ERROR: 1 } });
  let row: WorkerRow | undefined;
  await waitUntil(
    'cv-q quarantined in dtf workers',
    () => {
      row = (JSON.parse(dtf('workers', '--json').stdout) as { workers: WorkerRow[] }).workers.find((r) => r.hostId === 'cv-q');
      return row?.quarantine === 'quarantined';
    },
    30_000,
    1_000,
  );
  expect(row).toMatchObject({ cpuTasks: false, gpuCount: 0 });
  expect(row!.quarantineReason).toMatch(/WORKER_CRASH_ERROR/);
  expect(dtf('workers').stdout).toMatch(/^cv-q\s+CPU only\s+.*\syes, \d+ s left: /m);
  await handle.cancel();
});
