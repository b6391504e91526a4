/**
 * Gives each record of the original corpus (test/fixtures/error-corpus.jsonl) a `family`: "legacy-" + the tool
 * family its text or source names, by the first matching row below (deterministic; a record that already has a
 * family keeps it). Legacy records always train: the original rules were written from them. The leave-one-family-out
 * figure leaves out "legacy-F" together with "F".
 * Run after a build: `node dist/bench/tag-legacy-families.js`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CORPUS = 'test/fixtures/error-corpus.jsonl';

const FAMILY_ROWS: readonly [RegExp, string][] = [
  [/nvidia-container|could not select device driver/i, 'nvidia-container-toolkit'],
  [/NVRM|\bXid\b|nvidia-smi|NVML|NVIDIA driver|GPU is lost|fallen off the bus|ECC error/i, 'nvidia-driver-nvml'],
  [/NCCL|ProcessGroupNCCL|common\.cu/, 'nccl'],
  [/\bray[./]|raylet|ActorDied|worker process has died/i, 'ray'],
  [/distributed\.(?:scheduler|worker|nanny)|dask/i, 'dask'],
  [/\bjax|\bxla/i, 'jax-xla-tpu'],
  [/tensorflow|stream_executor|OOM when allocating tensor/i, 'tensorflow'],
  [/vllm/i, 'vllm'],
  [/cudnn|cublas|cufft|cusolver/i, 'cudnn-cublas'],
  [/torch|CUDA|cuda|\bGPU\b|kernel image/, 'pytorch-cuda'],
  [/npm ERR|ERESOLVE|\byarn\b|\bpnpm\b|ELIFECYCLE|\bbower\b/, 'npm-yarn-pnpm'],
  [/pytest|conftest|fixture '|ERROR collecting|file_or_dir/, 'pytest'],
  [/\bjest\b|expect\(received\)|● /, 'jest'],
  [/mocha|expected - actual/i, 'mocha-vitest'],
  [/\bpip\b|No matching distribution|Could not find a version|conflicting dependencies/, 'pip'],
  [/grpc|StatusCode|\b14 UNAVAILABLE|DEADLINE_EXCEEDED/i, 'grpc'],
  [/kubelet|Evicted|\bpod\b|OOMKilled/i, 'kubernetes'],
  [/docker|container_delete|overlay2|Error response from daemon/i, 'docker'],
  [/runner|Agent went offline|jenkins|hudson|Heartbeat timeout/i, 'ci-runner'],
  [/requests\.|urllib3|HTTPSConnectionPool|huggingface\.co/, 'python-http-clients'],
  [/certificate|\bSSL\b|\bTLS\b/i, 'tls-certificates'],
  [/ECONN|ETIMEDOUT|EAI_AGAIN|socket hang up|ENOTFOUND|EMFILE|ENOSPC|EBUSY|heap limit|node_modules|Cannot find (?:module|package)|ERR_MODULE_NOT_FOUND/, 'nodejs-runtime'],
  [/java\.|\bjvm\b|junit|opentest4j|Exception in thread/i, 'jvm'],
  [/panicked|cargo|\brustc\b/, 'cargo-test'],
  [/temperature above threshold|clock throttled|kernel: |\[\s*\d+\.\d+\]/, 'linux-kernel-dmesg'],
  [/Disk quota|No space left|Read-only file system|Too many open files/i, 'linux-limits'],
  [/umount|rm: cannot remove|rmdir|\.nfs[0-9a-f]{6,}/, 'shell'],
  [/bash:|\bsh:|command not found|Permission denied|Killed|exit code 1[234]\d|non-zero code/, 'shell'],
  [/Traceback|\w+Error:|python/, 'python-runtime'],
];

/** `{"a": 1, "b": 2}`: the spacing the corpus files use. */
function jsonLine(record: Record<string, unknown>): string {
  return `{${Object.entries(record)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

export function legacyFamily(message: string, source: string): string {
  const text = `${message}\n${source}`;
  for (const [pattern, family] of FAMILY_ROWS) if (pattern.test(text)) return `legacy-${family}`;
  return 'legacy-other';
}

function main(): void {
  const path = [join(__dirname, '..', '..', CORPUS), join(__dirname, '..', CORPUS)].find((p) => existsSync(p));
  if (!path) throw new Error(`${CORPUS} not found`);
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const counts = new Map<string, number>();
  const out = lines.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    const family = typeof record.family === 'string' ? record.family : legacyFamily(String(record.message), String(record.source));
    counts.set(family, (counts.get(family) ?? 0) + 1);
    const { message, exit_code, signal, category, kind, source } = record;
    return jsonLine({
      message,
      ...(exit_code !== undefined ? { exit_code } : {}),
      ...(signal !== undefined ? { signal } : {}),
      category,
      kind,
      family,
      source,
    });
  });
  writeFileSync(path, `${out.join('\n')}\n`);
  console.log([...counts].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} ${n}`).join('\n'));
}

if (require.main === module) main();
