/**
 * Records the histories the replay test guards (test/fixtures/histories/): one real run of each kind of path on
 * its own dev server with real workers: `npm run record:histories` records only the scenarios that have no history
 * yet, so new paths are added and old histories stay as running tasks made them; `-- --overwrite` records all again.
 */
import { Client, WorkflowHandle } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBatchId, settledResult, startTasks } from '../src/cli/submit';
import { WORKFLOW_TASK_QUEUE } from '../src/domain/hardware';
import { TestTaskSpec, TestTaskSpecInput } from '../src/domain/task-spec';
import { freePort } from '../src/server/dev-server';
import { startLocalFleet } from '../src/server/local-fleet';
import { REPO_ROOT, findOrInstallTemporalCli } from '../src/server/temporal-cli';
import { reassignUpdate, redriveUpdate } from '../src/workflows/messages';

const OUT = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-record-'));
const failUntilFile = (file: string, message: string) => [process.execPath, '-e', `if(!require('fs').existsSync(${JSON.stringify(file)})){console.error(${JSON.stringify(message)});process.exit(1)}`];

async function main() {
  const port = await freePort();
  const fleet = await startLocalFleet({
    address: `127.0.0.1:${port}`,
    headless: true,
    workers: [{ hostId: 'rec-a', simulateGpus: ['A10:24:8.6'] }, { hostId: 'rec-b' }],
    log: (m) => console.log(`[record] ${m}`),
  });
  const client = fleet.client;
  const start = async (input: TestTaskSpecInput) => (await startTasks(client, [TestTaskSpec.parse(input)], newBatchId()))[0];
  const recorded: string[] = [];
  const cli = findOrInstallTemporalCli();
  /** Through the Temporal CLI: its JSON is the format every Temporal tool reads back (historyFromJSON). */
  const overwrite = process.argv.includes('--overwrite');
  /** Whether a scenario still needs recording: histories are added, never replaced, unless --overwrite. */
  const wanted = (name: string) => overwrite || !fs.existsSync(path.join(OUT, `${name}.json`));
  function saveRun(name: string, workflowId: string, runId?: string) {
    const json = execFileSync(cli, ['workflow', 'show', '--address', fleet.address, '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json'], { maxBuffer: 64 << 20 });
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, `${name}.json`), json);
    recorded.push(name);
    console.log(`[record] ${name}: ${(JSON.parse(json.toString()) as { events: unknown[] }).events.length} events`);
  }
  const save = async (name: string, handle: WorkflowHandle) => saveRun(name, handle.workflowId);

  try {
    if (wanted('passed')) {
      const passed = await start({ name: 'passed', command: ['true'] });
      await settledResult(passed);
      await save('passed', passed);
    }
    // Since the results store: the same path with its write at the end (behind the patch).
    if (wanted('passed-with-results-store')) {
      const passed = await start({ name: 'passed-stored', command: ['true'] });
      await settledResult(passed);
      await save('passed-with-results-store', passed);
    }
    // Since `startAttributes`: a start that says its search attributes are set, so the run has no patch marker.
    if (wanted('passed-start-attributes')) {
      const passed = await start({ name: 'passed-start-attributes', command: ['true'] });
      await settledResult(passed);
      await save('passed-start-attributes', passed);
    }
    if (wanted('flaky-rerun')) {
      const flaky = await start({
        name: 'flaky',
        command: [process.execPath, '-e', "require('assert').notStrictEqual(process.env.DTF_ATTEMPT, '1', 'flaky on purpose')"],
        flakyReruns: 1,
      });
      await settledResult(flaky);
      await save('flaky-rerun', flaky);
    }

    if (wanted('recovered-in-place')) {
    const flaky = path.join(tmp, 'network-up');
    const recovered = await start({ name: 'recovered', command: failUntilFile(flaky, 'Error: connect ECONNREFUSED 127.0.0.1:9'), retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 1500, maxDelayMs: 1500 } } });
    setTimeout(() => fs.writeFileSync(flaky, 'up'), 1000);
    await settledResult(recovered);
    await save('recovered-in-place', recovered);
    }

    if (wanted('fallback-to-cpu')) {
    const fallback = await start({ name: 'fallback', command: ['true'], hardware: { class: 'cuda', minGpuMemoryGb: 80, fallback: ['cpu'] }, placementTimeoutSeconds: 2 });
    await settledResult(fallback);
    await save('fallback-to-cpu', fallback);
    }

    if (wanted('dead-lettered-redriven')) {
    const fixed = path.join(tmp, 'config-fixed');
    const parked = await start({ name: 'dead-lettered', command: failUntilFile(fixed, 'ValueError: invalid configuration: unknown option --fast') });
    await settledResult(parked); // parked
    fs.writeFileSync(fixed, 'ok');
    await parked.executeUpdate(redriveUpdate, { args: [{ reason: 'config fixed' }] });
    await parked.result();
    await save('dead-lettered-redriven', parked);
    }

    // Cancelled while its attempt runs (the attempt's undos run, the task ends cancelled, recorded, Canceled), and
    // cancelled while parked in the dead letter queue (behind the clean-cancel patch).
    if (wanted('cancelled-running')) {
    const running = await start({ name: 'cancelled-running', command: [process.execPath, '-e', 'setInterval(()=>console.log("beat"),200)'], timeoutSeconds: 120 });
    await new Promise((r) => setTimeout(r, 2000));
    await running.cancel();
    await running.result().catch(() => undefined);
    await save('cancelled-running', running);
    }
    if (wanted('cancelled-dead-lettered')) {
    const parked = await start({ name: 'cancelled-parked', command: [process.execPath, '-e', 'console.error("ValueError: invalid configuration: unknown option --fast");process.exit(2)'] });
    await settledResult(parked);
    await parked.cancel();
    await parked.result().catch(() => undefined);
    await save('cancelled-dead-lettered', parked);
    }

    if (wanted('reassigned')) {
    const moved = await start({ name: 'reassigned', command: [process.execPath, '-e', 'setTimeout(()=>{},3000)'] });
    await new Promise((r) => setTimeout(r, 1000));
    await moved.executeUpdate(reassignUpdate, { args: [{ to: 'rec-b', reason: 'record a move' }] });
    await moved.result();
    await save('reassigned', moved);
    }

    // Since checkpoints: an attempt that checkpointed and failed, and its retry resuming from the checkpoint (patched).
    if (wanted('checkpoint-resumed')) {
      const resumed = await start({
        name: 'checkpoint-resumed',
        command: [process.execPath, '-e', "const fs=require('fs'),p=process.env.DTF_CHECKPOINT_DIR+'/n';if(!fs.existsSync(p)){fs.writeFileSync(p,'1');console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}"],
        artifacts: ['*.log'],
        retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 200, maxDelayMs: 200 } },
      });
      await settledResult(resumed);
      await save('checkpoint-resumed', resumed);
    }

    if (wanted('continued-as-new') || wanted('after-continue-as-new')) {
    const counter = path.join(tmp, 'can-counter');
    const long = await client.workflow.start('testTaskWorkflow', {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: `dtf-can-${newBatchId()}`,
      args: [
        {
          spec: TestTaskSpec.parse({
            name: 'can',
            command: [process.execPath, '-e', `const fs=require('fs');const f=${JSON.stringify(counter)};const n=fs.existsSync(f)?+fs.readFileSync(f,'utf8'):0;fs.writeFileSync(f,String(n+1));if(n<3){console.error('Error: connect ECONNREFUSED 127.0.0.1:9');process.exit(1)}`],
            retry: { NETWORK_CONNECTION_ERROR: { initialDelayMs: 100, maxDelayMs: 100, maxAttemptsInPlace: 10 } },
          }),
          historyLimit: 20,
        },
      ],
    });
    await long.result();
    // The first run's history, which ends in continue-as-new, and the last run's.
    let first: string | undefined;
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${long.workflowId}'` })) first = wf.runId;
    saveRun('continued-as-new', long.workflowId, first);
    await save('after-continue-as-new', long);
    }
  } finally {
    await fleet.stop();
  }
  console.log(JSON.stringify({ recorded }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

export type { Client };
