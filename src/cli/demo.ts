/**
 * The demo: a local server (if none), a CPU worker and two simulated CUDA workers, the example suite, a final table;
 * then the dead-lettered task redriven with its corrected spec. Notifications (a breaker opening, a task
 * dead-lettered) come to a local webhook and are printed as they arrive; the suite's artifact store starts down and
 * comes back once its breaker has opened.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import type { TestTaskResult } from '../domain/task-result';
import type { Notification } from '../notifications/notifier';
import { WorkerSpec, startLocalFleet } from '../server/local-fleet';
import { REPO_ROOT } from '../server/temporal-cli';
import { redriveUpdate } from '../workflows/messages';
import { generateReport } from './report';
import { batchLinks } from './web-ui-links';
import { asExpected, formatTable, newBatchId, readTaskFile, settledResult, startTasks, waitForTasks } from './submit';

export const DEMO_WORKERS: WorkerSpec[] = [
  { hostId: 'cpu-1' },
  { hostId: 'gpu-8gb', simulateGpus: ['RTX-3070:8:8.6'] },
  { hostId: 'gpu-24gb', simulateGpus: ['RTX-4090:24:8.9'] },
];
export const DEMO_CONFIG = path.join(REPO_ROOT, 'examples', 'demo-config.yaml');
/** The suite's artifact store (`services:` of upload-needs-artifact-store). */
export const DEMO_STORE_PORT = 7390;
/** Corrected specs the demo redrives dead-lettered tasks with, by task name. */
export const DEMO_FIXES_DIR = path.join(REPO_ROOT, 'examples', 'fixes');

/** Receives the workers' webhook notifications and hands each to `onNotification`. */
async function startNotificationReceiver(onNotification: (n: Notification) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.end();
      try {
        onNotification(JSON.parse(body) as Notification);
      } catch {
        /* not ours */
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dtf-demo`, server };
}

/** The demo's config file: examples/demo-config.yaml plus a webhook to the demo's receiver. */
function writeDemoConfig(dir: string, webhookUrl: string): string {
  const config = (YAML.parse(fs.readFileSync(DEMO_CONFIG, 'utf8')) ?? {}) as { notifications?: { webhooks?: unknown[] } };
  config.notifications = { ...config.notifications, webhooks: [{ url: webhookUrl, minSeverity: 'info' }] };
  const file = path.join(dir, 'demo-config.yaml');
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

export async function runDemo(opts: { suite: string; keep?: boolean }): Promise<boolean> {
  const suite = path.resolve(opts.suite);
  const { tasks } = readTaskFile(suite); // a bad suite stops here, before anything starts
  const say = (m: string) => console.log(`[demo] ${m}`);
  const logDir = path.join(REPO_ROOT, '.dtf', 'demo-logs');
  fs.mkdirSync(logDir, { recursive: true });
  // The artifact store starts down; it comes up once its breaker has been seen to open.
  const store = http.createServer((_req, res) => res.end('ok'));
  const bringStoreUp = () => {
    if (store.listening) return;
    store.once('error', (err) => say(`could not start the artifact store on port ${DEMO_STORE_PORT}: ${err.message}`));
    store.listen(DEMO_STORE_PORT, '127.0.0.1', () => say(`the artifact store is back up on port ${DEMO_STORE_PORT}`));
  };
  const receiver = await startNotificationReceiver((n) => {
    say(`notification [${n.severity}] ${n.kind}: ${n.title}`);
    if (n.kind === 'breaker_open' && n.details.service === 'artifact-store') bringStoreUp();
  });
  const config = writeDemoConfig(logDir, receiver.url);
  const workers = DEMO_WORKERS.map((w) => ({ ...w, extraArgs: [...(w.extraArgs ?? []), '--config', config] }));
  say(`starting a fleet: ${DEMO_WORKERS.map((w) => `${w.hostId}${w.simulateGpus ? ` (simulated ${w.simulateGpus.join(', ')})` : ''}`).join(', ')}`);
  const fleet = await startLocalFleet({ workers, log: say, logDir });
  const stopAll = () => void fleet.stop().then(() => process.exit(130));
  process.once('SIGINT', stopAll);
  try {
    const batchId = newBatchId();
    say(`Web UI: ${fleet.uiUrl} (worker logs in .dtf/demo-logs/)`);
    say(`submitting ${tasks.length} tasks from ${path.relative(REPO_ROOT, suite)} as batch ${batchId}`);
    const handles = await startTasks(fleet.client, tasks, batchId);
    const results = await waitForTasks(handles, tasks, {
      onResult: (r, done, total) => {
        const spec = tasks.find((t) => t.name === r.name)!;
        const mark = asExpected(r, spec) ? 'as expected' : `EXPECTED ${spec.expect}`;
        say(`[${done}/${total}] ${r.name}: ${r.status}${r.hostId ? ` on ${r.hostId}` : ''} (${(r.durationMs / 1000).toFixed(1)} s) — ${mark}`);
      },
      onTick: (done, total) => say(`… ${done}/${total} done`),
    });
    console.log(`\n${formatTable(results, tasks)}\n`);
    const unexpected = results.filter((r, i) => !asExpected(r, tasks[i]));
    if (fleet.uiUrl) for (const link of batchLinks(fleet.uiUrl, batchId)) say(`Web UI, ${link.label}: ${link.url}`);
    say(`or: temporal workflow list --query 'DtfRunId="${batchId}"'   |   npx dtf list --batch ${batchId}`);
    for (const r of results) {
      for (const e of r.recoveryLog.filter((e) => e.rule === 'service-breaker-open')) {
        say(`${r.name}: attempt ${e.attempt} on ${e.hostId} refused by the open breaker without calling the service; retried after ${((e.delayMs ?? 0) / 1000).toFixed(1)} s`);
      }
    }
    say(unexpected.length ? `${unexpected.length} task(s) did not end as expected: ${unexpected.map((r) => r.name).join(', ')}` : `all ${results.length} tasks ended as expected`);

    // The dead letter queue's other half: redrive each parked task that has a corrected spec, and see it pass.
    let redrivesOk = true;
    for (const [i, parked] of results.entries()) {
      const fix = path.join(DEMO_FIXES_DIR, `${parked.name}.yaml`);
      if (parked.status !== 'dead_lettered' || !fs.existsSync(fix)) continue;
      const [fixed] = readTaskFile(fix).tasks;
      say(`redriving ${parked.name} from the dead letter queue with ${path.relative(REPO_ROOT, fix)} (as \`npx dtf dlq redrive ${parked.workflowId} --spec ${path.relative(REPO_ROOT, fix)}\`)`);
      await handles[i].executeUpdate(redriveUpdate, { args: [{ spec: fixed, reason: 'demo: option typo fixed' }] });
      const after: TestTaskResult = await settledResult(handles[i]);
      say(`${parked.name} after redrive: ${after.status}${after.hostId ? ` on ${after.hostId}` : ''}; recovery log: ${after.recoveryLog.map((e) => e.action).join(' → ')}`);
      redrivesOk &&= after.status === 'passed';
    }
    for (const r of results) {
      const flaky = r.tests?.cases.filter((c) => c.status === 'flaky') ?? [];
      if (flaky.length) say(`${r.name}: flaky test${flaky.length > 1 ? 's' : ''} ${flaky.map((c) => `${c.id} (${(c.runs ?? []).map((x) => `${x.status} on ${x.host}`).join(', ')})`).join('; ')}`);
    }
    // The results store has every task of the batch: the report, and its HTML version.
    const html = path.join(logDir, `report-${batchId}.html`);
    try {
      const text = await generateReport({ batch: batchId, format: 'text' });
      console.log(`\n${text.output}\n`);
      await generateReport({ batch: batchId, format: 'html', out: html });
      say(`the report as one HTML file: ${html}   (npx dtf report --batch ${batchId} --format html --out FILE)`);
    } catch (err) {
      say(`could not build the report: ${(err as Error).message}`);
    }
    return unexpected.length === 0 && redrivesOk;
  } finally {
    process.removeListener('SIGINT', stopAll);
    await closeServer(receiver.server);
    if (store.listening) await closeServer(store);
    if (opts.keep) say('--keep: leaving the server and workers running');
    else {
      say('stopping the workers and the server this demo started');
      await fleet.stop();
    }
  }
}
