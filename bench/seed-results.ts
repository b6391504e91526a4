/**
 * Seeded, realistic TaskRecords for the report benchmark and tests: a fleet of CPU and GPU hosts over 24 hours, with
 * planted patterns the report must find — a host (gpu-07) with far more hardware errors than the rest, a case that
 * fails only on gpu-05, a flaky download test that passes on a rerun elsewhere, a broken test, NETWORK_TIMEOUT
 * recoveries on the last allowed in-place attempt, an UNKNOWN_ERROR share over 5 %, and a label (python=3.13) whose
 * tasks fail far more often. Deterministic for a given seed.
 */
import type { TaskRecordInput } from '../src/domain/task-record';
import type { TestCase } from '../src/domain/test-results';
import { seededRandom } from '../src/domain/seeded-random';

export const SEED_HOSTS = {
  cpu: ['cpu-01', 'cpu-02', 'cpu-03', 'cpu-04'],
  cuda: ['gpu-01', 'gpu-02', 'gpu-03', 'gpu-04', 'gpu-05', 'gpu-06', 'gpu-07', 'gpu-08'],
};
export const SEED_GPU_MODEL: Record<string, string> = {
  'gpu-01': 'NVIDIA A10G', 'gpu-02': 'NVIDIA A10G', 'gpu-03': 'NVIDIA A10G',
  'gpu-04': 'NVIDIA L4', 'gpu-05': 'NVIDIA L4', 'gpu-06': 'NVIDIA L4',
  'gpu-07': 'NVIDIA H100 80GB HBM3', 'gpu-08': 'NVIDIA H100 80GB HBM3',
};
export const SEED_BAD_HOST = 'gpu-07';
export const SEED_HOST_ATTRIBUTED = { host: 'gpu-05', caseId: 'tests/test_cuda.py::test_fused_kernel' };
export const SEED_FLAKY_CASE = 'tests/test_io.py::test_download_weights';
export const SEED_BROKEN_CASE = 'tests/test_tokenizer.py::test_roundtrip_unicode';


const UNKNOWN_MESSAGES = ['segfault in libfoo.so at 0x7f3a2b', 'unexpected EOF from child 4312', 'Assertion `ctx != NULL` failed in plugin 7'];

export interface SeedOptions {
  seed?: number;
  /** The window's end (epoch ms); tasks end over the 24 hours before it. */
  now?: number;
  batchId?: string;
}

export function seedRecords(n: number, opts: SeedOptions = {}): TaskRecordInput[] {
  const rnd = seededRandom(opts.seed ?? 42);
  const now = opts.now ?? Date.parse('2026-11-30T12:00:00Z');
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const out: TaskRecordInput[] = [];
  const suites = ['unit', 'integration', 'ml', 'bench'];
  for (let i = 0; i < n; i++) {
    const cuda = rnd() < 0.55;
    const suite = cuda ? pick(['ml', 'bench', 'integration']) : pick(suites);
    const taskName = `${suite}-${cuda ? 'gpu' : 'cpu'}-${i % 25}`;
    const python = rnd() < 0.1 ? '3.13' : pick(['3.11', '3.12']);
    const endedAt = now - Math.floor(rnd() * 24 * 3_600_000);
    const hosts = cuda ? SEED_HOSTS.cuda : SEED_HOSTS.cpu;
    let host = pick(hosts);
    const attempts: NonNullable<TaskRecordInput['attempts']> = [];
    const recovery: NonNullable<TaskRecordInput['recoveryActions']> = [];
    let t = endedAt - 120_000 - Math.floor(rnd() * 600_000);
    const startedAt = t;
    let placement = 1;
    let inPlace = 1;
    let status: TaskRecordInput['status'] | undefined;
    let category: string | undefined;
    let reason: string | undefined;
    const excluded = new Set<string>();
    const queue = cuda ? 'dtf-cuda-24gb' : 'dtf-cpu';
    for (let step = 0; step < 8 && !status; step++) {
      const nAttempt = attempts.length + 1;
      const gpuModel = SEED_GPU_MODEL[host];
      const hwRate = host === SEED_BAD_HOST ? 0.3 : 0.015;
      const r = rnd();
      let cat: string | undefined;
      let kind = 'transient';
      let message: string | undefined;
      if (r < hwRate) {
        cat = pick(['HARDWARE_PERFORMANCE_ERROR', 'HARDWARE_AVAILABILITY_ERROR', 'WORKER_CRASH_ERROR']);
        kind = 'resource';
        message = cat === 'WORKER_CRASH_ERROR' ? 'worker killed by signal SIGKILL' : 'Xid 79: GPU has fallen off the bus';
      } else if ((i % 37 === 0 && inPlace < 4) || (r < hwRate + 0.05 && inPlace < 4)) {
        // i % 37: tasks behind a slow mirror, recovering on the 4th (last allowed) attempt
        cat = 'NETWORK_TIMEOUT_ERROR';
        message = 'ReadTimeoutError: HTTPSConnectionPool(host=huggingface.co): read timed out';
      } else if (r < hwRate + 0.07) {
        cat = 'NETWORK_CONNECTION_ERROR';
        message = 'ConnectionRefusedError: [Errno 111] Connection refused';
      } else if (r < hwRate + 0.1) {
        cat = 'UNKNOWN_ERROR';
        message = pick(UNKNOWN_MESSAGES);
      } else if (cuda && r < hwRate + 0.115) {
        cat = 'RESOURCE_ALLOCATION_ERROR';
        kind = 'resource';
        message = 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB';
      }
      const durationMs = 2_000 + Math.floor(rnd() * 60_000);
      if (cat) {
        const max = { NETWORK_TIMEOUT_ERROR: 4, NETWORK_CONNECTION_ERROR: 5, UNKNOWN_ERROR: 2, RESOURCE_ALLOCATION_ERROR: 2 }[cat] ?? 1;
        attempts.push({
          n: nAttempt, placement, attemptInPlacement: inPlace, host, gpuModel, queue, outcome: 'error', category: cat, kind, rule: 'seed', maxAttemptsInPlace: max, message, durationMs,
          startedAt: new Date(t).toISOString(),
          hardwareStatus: cat.startsWith('HARDWARE') ? { overheating: rnd() < 0.5, memoryPressure: false, throttling: rnd() < 0.5, warnings: ['GPU 0 at 92 °C'] } : undefined,
        });
        t += durationMs + 1000;
        const retryInPlace = inPlace < max && !cat.startsWith('HARDWARE') && cat !== 'WORKER_CRASH_ERROR';
        if (retryInPlace) {
          recovery.push({ at: new Date(t).toISOString(), placement, attempt: inPlace, host, queue, category: cat, action: 'retry-in-place', delayMs: 1000, reason: message ?? '' });
          inPlace += 1;
          continue;
        }
        if (cat === 'UNKNOWN_ERROR') {
          status = 'dead_lettered';
          category = cat;
          reason = 'no option left for UNKNOWN_ERROR';
          recovery.push({ at: new Date(t).toISOString(), placement, attempt: inPlace, host, queue, category: cat, action: 'fail', reason: reason });
          break;
        }
        excluded.add(host);
        const others = hosts.filter((h) => !excluded.has(h));
        if (!others.length || placement >= 5) {
          status = 'dead_lettered';
          category = cat;
          reason = 'no host left';
          break;
        }
        const next = pick(others);
        const action = cat === 'RESOURCE_ALLOCATION_ERROR' ? 'bigger-gpu' : 'relocate';
        recovery.push({ at: new Date(t).toISOString(), placement, attempt: inPlace, host, queue, category: cat, action, to: `dtf-host-${next}`, reason: message ?? '' });
        host = next;
        placement += 1;
        inPlace = 1;
        continue;
      }
      // The command ran: its tests decide.
      const failRate = python === '3.13' ? 0.45 : 0.04;
      const testFailed = rnd() < failRate;
      const cases: TestCase[] = [];
      let failed = 0;
      let flaky = 0;
      if (testFailed) {
        cases.push({ id: `tests/test_${suite}.py::test_case_${Math.floor(rnd() * 5)}`, status: 'failed', message: 'AssertionError: expected 0.91 >= 0.95', durationMs: 1200, host });
        failed += 1;
      }
      if (taskName === 'unit-cpu-3') {
        cases.push({ id: SEED_BROKEN_CASE, status: 'failed', message: "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff", durationMs: 30, host });
        failed += 1;
      }
      if (cuda && host === SEED_HOST_ATTRIBUTED.host && suite === 'ml') {
        cases.push({ id: SEED_HOST_ATTRIBUTED.caseId, status: 'failed', message: 'RuntimeError: CUDA error: an illegal memory access was encountered', durationMs: 800, host });
        failed += 1;
      }
      if (suite === 'integration' && rnd() < 0.2) {
        const other = pick(hosts.filter((h) => h !== host));
        cases.push({ id: SEED_FLAKY_CASE, status: 'flaky', message: 'ReadTimeout: weights download stalled', durationMs: 5000, host: other, runs: [{ status: 'failed', host }, { status: 'passed', host: other }] });
        flaky += 1;
      }
      const total = 60 + (i % 7) * 40;
      const skipped = i % 5;
      for (let k = 0; k < skipped; k++) cases.push({ id: `tests/test_${suite}.py::test_skip_${k}`, status: 'skipped', message: 'needs 2 GPUs', durationMs: 0, host });
      status = failed ? 'failed' : 'passed';
      if (failed) {
        category = 'TEST_EXECUTION_ERROR';
        reason = `${failed} test(s) failed`;
        recovery.push({ at: new Date(t).toISOString(), placement, attempt: inPlace, host, queue, category, action: 'record-test-failure', reason });
      }
      attempts.push({ n: nAttempt, placement, attemptInPlacement: inPlace, host, gpuModel, queue, outcome: failed ? 'failed' : 'passed', category: failed ? 'TEST_EXECUTION_ERROR' : undefined, kind: failed ? 'validation' : undefined, exitCode: failed ? 1 : 0, durationMs, startedAt: new Date(t).toISOString() });
      out.push({
        workflowId: `dtf-${taskName}-${opts.batchId ?? 'seed'}-${i}`,
        task: taskName,
        batchId: opts.batchId ?? `seed-${Math.floor(i / 500)}`,
        status,
        hwClass: cuda ? 'cuda' : 'cpu',
        queue,
        host,
        labels: { suite, python, team: pick(['a', 'b', 'c']) },
        category,
        reason,
        exitCode: failed ? 1 : 0,
        startedAt: new Date(startedAt).toISOString(),
        endedAt: new Date(Math.max(endedAt, t + durationMs)).toISOString(),
        durationMs: Math.max(endedAt, t + durationMs) - startedAt,
        attempts,
        recoveryActions: recovery,
        tests: {
          total, passed: total - failed - flaky - skipped, failed, errored: 0, skipped, flaky, quarantined: 0, casesOmitted: 0, cases,
          slowest: [
            { id: `tests/test_${suite}.py::test_train_epoch`, durationMs: 20_000 + Math.floor(rnd() * 10_000) },
            { id: `tests/test_${suite}.py::test_eval`, durationMs: 5_000 + Math.floor(rnd() * 3_000) },
          ],
        },
      });
      break;
    }
    if (!status) {
      status = 'dead_lettered';
      category = attempts[attempts.length - 1]?.category;
      reason = 'attempts exhausted';
    }
    if (status !== 'passed' && status !== 'failed') {
      out.push({
        workflowId: `dtf-${taskName}-${opts.batchId ?? 'seed'}-${i}`,
        task: taskName,
        batchId: opts.batchId ?? `seed-${Math.floor(i / 500)}`,
        status,
        hwClass: cuda ? 'cuda' : 'cpu',
        queue,
        host,
        labels: { suite, python, team: pick(['a', 'b', 'c']) },
        category,
        reason,
        exitCode: null,
        startedAt: new Date(startedAt).toISOString(),
        endedAt: new Date(Math.max(endedAt, t)).toISOString(),
        durationMs: Math.max(endedAt, t) - startedAt,
        attempts,
        recoveryActions: recovery,
        deadLettered: true,
      });
    }
  }
  return out;
}
