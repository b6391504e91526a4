/** The pieces that wire breakers, quarantine and notifications into the fleet: config, spec, slots, queue service. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeploymentConfig, loadDeploymentConfig } from '../../src/config/deployment';
import { hostServesQueue } from '../../src/domain/hardware';
import { parseReassignTarget } from '../../src/domain/placement';
import { SpecError, TestTaskSpec, parseTaskFile } from '../../src/domain/task-spec';
import { ApplicationFailure } from '@temporalio/common';
import { HostQuarantine, QUARANTINE_REDISPATCH_MS, createQuarantineGate } from '../../src/resilience/host-quarantine';
import { GpuPool, HostSlotSupplier } from '../../src/resilience/host-slots';

const reserveCtx = { slotType: 'activity' as const, taskQueue: 'dtf-cpu', workerIdentity: 'w', workerBuildId: '', isSticky: false };
const used = { type: 'activity' as const, activityType: 'runTestTask' };

describe('deployment config', () => {
  it('defaults breakers, quarantine and notifications so an empty file works', () => {
    const c = DeploymentConfig.parse({});
    expect(c.breakers).toMatchObject({ consecutiveFailures: 3, halfOpenAfterMs: 30_000, services: {} });
    expect(c.quarantine).toMatchObject({ threshold: 3, cooldownMs: 300_000 });
    expect(c.notifications).toEqual({ logMinSeverity: 'info', webhooks: [] });
  });

  it('reads the knobs from a YAML file and names the bad field otherwise', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-config-'));
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(
      good,
      'breakers:\n  consecutiveFailures: 2\n  services:\n    artifacts: {halfOpenAfterMs: 5000}\nquarantine: {threshold: 5}\nnotifications:\n  webhooks: [{url: "http://127.0.0.1:9/hook"}]\n',
    );
    const c = loadDeploymentConfig(good);
    expect(c.breakers.services.artifacts).toEqual({ halfOpenAfterMs: 5000 });
    expect(c.quarantine.threshold).toBe(5);
    expect(c.notifications.webhooks[0]).toMatchObject({ url: 'http://127.0.0.1:9/hook', minSeverity: 'warning' });
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'quarantine: {threshold: 0}\nnotifications: {webhooks: [{url: "ftp://x"}]}\n');
    expect(() => loadDeploymentConfig(bad)).toThrow(SpecError);
    try {
      loadDeploymentConfig(bad);
    } catch (err) {
      expect((err as SpecError).issues.join('\n')).toMatch(/quarantine\.threshold/);
      expect((err as SpecError).issues.join('\n')).toMatch(/notifications\.webhooks\[0\]\.url: expected an http\(s\) URL/);
    }
  });
});

describe('task spec services', () => {
  it('accepts declared services with a default probe timeout', () => {
    const spec = TestTaskSpec.parse({ name: 't', command: ['x'], services: [{ name: 'artifacts', url: 'http://store:9000/minio/health/live' }] });
    expect(spec.services).toEqual([{ name: 'artifacts', url: 'http://store:9000/minio/health/live', timeoutMs: 5000 }]);
    expect(TestTaskSpec.parse({ name: 't', command: ['x'] }).services).toEqual([]);
  });

  it('names the bad service field: not http(s), duplicate names, unknown keys', () => {
    let issues: string[] = [];
    try {
      parseTaskFile({
        name: 't',
        command: ['x'],
        services: [
          { name: 'a', url: 'file:///etc/passwd' },
          { name: 'b', url: 'http://b' },
          { name: 'b', url: 'http://b2' },
          { name: 'c', url: 'http://c', retries: 3 },
        ],
      });
    } catch (err) {
      issues = (err as SpecError).issues;
    }
    expect(issues).toEqual(
      expect.arrayContaining([
        'services[0].url: expected an http(s) URL',
        'services[2].name: duplicate service name "b"',
        expect.stringMatching(/^services\[3\]: Unrecognized key\(s\) in object: 'retries'/),
      ]),
    );
  });
});

describe('reassign to a host pins the task there', () => {
  const task = TestTaskSpec.parse({ name: 't', command: ['x'], hardware: { class: 'cuda', minGpuMemoryGb: 8 } });
  it.each(['gpu-07', 'dtf-host-gpu-07'])('%s', (to) => {
    expect(parseReassignTarget(to, task, 'cuda')).toEqual({ ok: true, placement: { hwClass: 'cuda', queue: 'dtf-host-gpu-07', hostId: 'gpu-07', pinned: true } });
  });
  it('a class queue is not pinned', () => {
    expect(parseReassignTarget('dtf-cuda-24gb', task, 'cuda')).toEqual({ ok: true, placement: { hwClass: 'cuda', queue: 'dtf-cuda-24gb', tierGb: 24 } });
  });
});

describe('hostServesQueue (the queue watch: can anyone alive pick this up?)', () => {
  it('every host serves the CPU queue; only itself its host queue; GPU tiers by memory', () => {
    const cpu = { hostId: 'cpu-01', gpuMemoryGb: 0 };
    const rtx = { hostId: 'gpu-07', gpuMemoryGb: 24 };
    expect(hostServesQueue(cpu, 'dtf-cpu')).toBe(true);
    expect(hostServesQueue(cpu, 'dtf-cuda-8gb')).toBe(false);
    expect(hostServesQueue(rtx, 'dtf-cuda-8gb')).toBe(true);
    expect(hostServesQueue(rtx, 'dtf-cuda-24gb')).toBe(true);
    expect(hostServesQueue(rtx, 'dtf-cuda-40gb')).toBe(false);
    expect(hostServesQueue(rtx, 'dtf-host-gpu-07')).toBe(true);
    expect(hostServesQueue(rtx, 'dtf-host-gpu-08')).toBe(false);
  });
});

describe('HostSlotSupplier: CPU slots stop while quarantined', () => {
  const setup = (maxTasks = 2) => {
    let now = 0;
    const q = new HostQuarantine({ threshold: 1, cooldownMs: 1_000 }, () => now);
    return { q, slots: new HostSlotSupplier({ maxTasks, gpus: new GpuPool(0), quarantine: q }), advance: (ms: number) => (now += ms) };
  };

  it('hands out at most maxTasks slots and takes them back', () => {
    const { slots } = setup(2);
    const a = slots.tryReserveSlot(reserveCtx);
    const b = slots.tryReserveSlot(reserveCtx);
    expect(a && b).toBeTruthy();
    expect(slots.tryReserveSlot(reserveCtx)).toBeNull();
    slots.releaseSlot({ permit: a!, slotInfo: used });
    expect(slots.tryReserveSlot(reserveCtx)).not.toBeNull();
  });

  it('hands out none while quarantined: a waiting reservation resolves only once the cool-down ends, with the one trial slot', async () => {
    const { q, slots, advance } = setup(2);
    q.recordFailure('WORKER_CRASH_ERROR');
    expect(slots.tryReserveSlot(reserveCtx)).toBeNull();
    let got: unknown;
    const waiting = slots.reserveSlot(reserveCtx, new AbortController().signal).then((p) => (got = p));
    await new Promise((r) => setTimeout(r, 400));
    expect(got).toBeUndefined();
    advance(1_000);
    await waiting;
    expect(got).toMatchObject({ trial: true });
    // Half-open: the trial is out, so no second slot, even with room for two.
    expect(slots.tryReserveSlot(reserveCtx)).toBeNull();
  });

  it('a trial slot whose poll came back empty frees the trial for the next poll', () => {
    const { q, slots, advance } = setup(2);
    q.recordFailure('WORKER_CRASH_ERROR');
    advance(1_000);
    const trial = slots.tryReserveSlot(reserveCtx)!;
    expect(slots.tryReserveSlot(reserveCtx)).toBeNull();
    slots.releaseSlot({ permit: trial }); // no slotInfo: the long poll ended without a task
    expect(slots.tryReserveSlot(reserveCtx)).toMatchObject({ trial: true });
  });

  it('a freed slot goes to a waiting reservation at once, not at the next recheck', async () => {
    const { slots } = setup(1);
    const busy = slots.tryReserveSlot(reserveCtx)!;
    const started = Date.now();
    const waiting = slots.reserveSlot(reserveCtx, new AbortController().signal);
    setTimeout(() => slots.releaseSlot({ permit: busy, slotInfo: used }), 20);
    await expect(waiting).resolves.toMatchObject({ trial: false });
    expect(Date.now() - started).toBeLessThan(200); // the recheck is every 250 ms
  });

  it('an aborted reservation rejects with AbortError', async () => {
    const { q, slots } = setup(1);
    q.recordFailure('WORKER_CRASH_ERROR');
    const ctl = new AbortController();
    const waiting = slots.reserveSlot(reserveCtx, ctl.signal);
    ctl.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('HostSlotSupplier: a host takes exactly as many GPU tasks as it has free GPUs', () => {
  const ctx = (taskQueue: string) => ({ ...reserveCtx, taskQueue });
  const setup = (gpus: number, maxTasks = 4) => {
    const pool = new GpuPool(gpus);
    const q = new HostQuarantine({ threshold: 5 });
    return { pool, slots: new HostSlotSupplier({ maxTasks, gpus: pool, quarantine: q }) };
  };

  it('each tier queue polls at most once per free GPU; a task that arrives takes one GPU off every queue', () => {
    const { slots } = setup(1);
    const p8 = slots.tryReserveSlot(ctx('dtf-cuda-8gb'))!;
    const p24 = slots.tryReserveSlot(ctx('dtf-cuda-24gb'))!;
    expect(p8 && p24).toBeTruthy();
    expect(slots.tryReserveSlot(ctx('dtf-cuda-8gb'))).toBeNull(); // one poll per free GPU on a queue
    slots.markSlotUsed({ permit: p8, slotInfo: used });
    slots.releaseSlot({ permit: p24 }); // the 24 GB poll came back empty
    expect(slots.tryReserveSlot(ctx('dtf-cuda-24gb'))).toBeNull(); // the only GPU is taken
    expect(slots.tryReserveSlot(ctx('dtf-cpu'))).not.toBeNull(); // CPU work has its own slots
    slots.releaseSlot({ permit: p8, slotInfo: used });
    expect(slots.tryReserveSlot(ctx('dtf-cuda-24gb'))).not.toBeNull();
  });

  it('a multi-GPU task reserves what it waits for: polls stop until its GPUs are free, and it gets exactly them', async () => {
    const { pool, slots } = setup(2);
    const first = slots.tryReserveSlot(ctx('dtf-cuda-8gb'))!;
    slots.markSlotUsed({ permit: first, slotInfo: used });
    await expect(pool.acquire('small', 1, [0, 1], { countedBySlot: true })).resolves.toEqual([0]);
    // A 2-GPU task pinned to the host waits for both; meanwhile no queue may poll for the GPU left.
    const big = pool.acquire('big', 2, [0, 1], { countedBySlot: false });
    await new Promise((r) => setTimeout(r, 20));
    expect(slots.tryReserveSlot(ctx('dtf-cuda-8gb'))).toBeNull();
    pool.release('small');
    slots.releaseSlot({ permit: first, slotInfo: used });
    await expect(big).resolves.toEqual([0, 1]);
    expect(slots.tryReserveSlot(ctx('dtf-cuda-8gb'))).toBeNull();
    pool.release('big');
    expect(slots.tryReserveSlot(ctx('dtf-cuda-8gb'))).not.toBeNull();
  });

  it('a task whose GPU is taken by a racing poll gives up after its wait, so it can be handed back', async () => {
    const { pool } = setup(1);
    await pool.acquire('a', 1, [0], { countedBySlot: true });
    await expect(pool.acquire('b', 1, [0], { countedBySlot: true, maxWaitMs: 50 })).resolves.toBeUndefined();
  });

  it('the host queue takes pinned work beyond the CPU slots, up to maxTasks + GPUs', () => {
    const { slots } = setup(1, 1);
    expect(slots.tryReserveSlot(ctx('dtf-host-h'))).not.toBeNull();
    expect(slots.tryReserveSlot(ctx('dtf-host-h'))).not.toBeNull();
    expect(slots.tryReserveSlot(ctx('dtf-host-h'))).toBeNull();
  });
});

describe('README', () => {
  it('its deployment config example is a valid config', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Deployment config'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-readme-'));
    fs.writeFileSync(path.join(dir, 'c.yaml'), yaml!);
    const c = loadDeploymentConfig(path.join(dir, 'c.yaml'));
    expect(c.breakers.services['model-mirror'].sampling).toMatchObject({ threshold: 0.5 });
    expect(c.notifications.webhooks).toHaveLength(1);
  });
});

describe('quarantine gate with slot control (the worker\'s setting)', () => {
  const setup = () => {
    let now = 0;
    const q = new HostQuarantine({ threshold: 1, cooldownMs: 1_000 }, () => now);
    const gate = createQuarantineGate(q, { hostId: 'h', isExempt: (ctx) => ctx.pinned === true, slotsAdmit: true });
    return { q, gate, advance: (ms: number) => (now += ms) };
  };

  it('hands a task polled before the quarantine back to its queue (retryable, short delay), not to the workflow', () => {
    const { q, gate } = setup();
    q.recordFailure('HARDWARE_AVAILABILITY_ERROR');
    let err: unknown;
    try {
      gate.beforeClassTask({ taskQueue: 'dtf-cpu', attempt: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'HARDWARE_AVAILABILITY_ERROR', nonRetryable: false, nextRetryDelay: QUARANTINE_REDISPATCH_MS });
    expect((err as ApplicationFailure).details?.[1]).toMatchObject({ rule: 'host-quarantined', retryInPlace: true, delayMs: QUARANTINE_REDISPATCH_MS });
  });

  it('lets pinned tasks through while quarantined, and in half-open leaves the one-trial rule to the slots', () => {
    const { q, gate, advance } = setup();
    q.recordFailure('WORKER_CRASH_ERROR');
    expect(() => gate.beforeClassTask({ taskQueue: 'dtf-host-h', attempt: 1, pinned: true })).not.toThrow();
    advance(1_000);
    expect(q.shouldAcceptClassWork()).toBe(true); // the slot supplier took the trial
    expect(() => gate.beforeClassTask({ taskQueue: 'dtf-cpu', attempt: 1 })).not.toThrow();
  });
});
