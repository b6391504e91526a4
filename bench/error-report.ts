/** Times buildErrorReport on this machine: the first (cold) call, then warm ones. Run: node dist/bench/error-report.js [reports] */
import { performance } from 'node:perf_hooks';
import { buildErrorReport } from '../src/activities/error-report';
import { ErrorFrequencyTracker } from '../src/domain/error-frequency';
import type { GpuInfo } from '../src/domain/hardware';

const DEFAULT_REPORTS = 30;

function quantile(sorted: readonly number[], q: number): number {
  // Nearest rank: with 29 warm samples, p95 is the 28th, an observed value rather than an interpolation.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

async function main(): Promise<void> {
  const reports = Math.max(2, Number(process.argv[2] ?? DEFAULT_REPORTS) || DEFAULT_REPORTS);
  const tracker = new ErrorFrequencyTracker();
  const simulatedGpus: GpuInfo[] = [{ name: 'RTX-4090', memoryGb: 24, computeCapability: 8.9, simulated: true }];
  const output = `${'step 42: loss=0.1234 lr=3e-4\n'.repeat(2000)}Authorization: Bearer abcdef0123456789\nRuntimeError: CUDA out of memory`;

  const times: number[] = [];
  let notes = new Set<string>();
  for (let i = 0; i < reports; i++) {
    const started = performance.now();
    const report = await buildErrorReport({
      classification: { category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'cuda-oom' },
      message: `CUDA out of memory. Tried to allocate ${(i % 7) + 1}.00 GiB (GPU 0; 23.65 GiB total)`,
      exitCode: 1,
      signal: null,
      outputTail: output,
      ids: { taskId: 'bench', workflowId: 'dtf-bench', attempt: 1, workerIdentity: 'dtf:bench:gpu24:cc8.9:pid1', hostId: 'bench' },
      env: { HF_TOKEN: 'bench-token-value' },
      simulatedGpus,
      tracker,
    });
    times.push(performance.now() - started);
    notes = new Set([...notes, ...report.systemContext.notes]);
  }

  const [coldMs, ...warm] = times;
  const sorted = [...warm].sort((a, b) => a - b);
  const stats = {
    min: round(sorted[0]),
    median: round(quantile(sorted, 0.5)),
    p95: round(quantile(sorted, 0.95)),
    max: round(sorted[sorted.length - 1]),
  };
  console.log(`buildErrorReport, ${reports} reports (first one cold)`);
  console.log(`  cold  ${round(coldMs)} ms`);
  console.log(`  warm  min ${stats.min} / median ${stats.median} / p95 ${stats.p95} / max ${stats.max} ms`);
  if (notes.size > 0) console.log(`  probes left out: ${[...notes].join('; ')}`);
  console.log(JSON.stringify({ reports, coldMs: round(coldMs), medianMs: stats.median, p95Ms: stats.p95, maxMs: stats.max }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
