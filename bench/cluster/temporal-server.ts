/**
 * A real Temporal server for `npm run cluster`, not the dev server: `go.temporal.io/server` at a pinned version,
 * built once from the Go module proxy into `.dtf/temporal-server/<version>/` (the way the Temporal CLI is cached,
 * src/server/temporal-cli.ts) together with its SQL schema tool and schema files, then reused.
 *
 * It runs with its embedded config template (the server's config/docker.yaml, the one the temporalio/server image
 * renders), driven by the same environment variables that docker-compose.yml's `temporal` service sets, so that
 * what runs here is what compose runs.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CACHE_DIR } from '../../src/server/temporal-cli';
import { isPortOpen } from '../../src/server/dev-server';

/** The pinned server. v1.32.1 builds with Go 1.26.8 (v1.32.2 asks for 1.26.10). Compose's image tags follow it. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_VERSION = '1.32.1';

export interface TemporalServerBuild {
  dir: string;
  server: string;
  sqlTool: string;
  /** TEMPORAL_HOME for temporal-config/setup-postgres-schema.sh: holds schema/postgresql/v12. */
  home: string;
  /** Seconds the build took; 0 when the cache served it. */
  builtSeconds: number;
}

const buildDir = () => path.join(CACHE_DIR, 'temporal-server', `v${TEMPORAL_SERVER_VERSION}`);

/** The cached build, or builds it (several minutes on 2 cores) when missing. */
export function ensureTemporalServer(log: (m: string) => void): TemporalServerBuild {
  const dir = buildDir();
  const server = path.join(dir, 'bin', 'temporal-server');
  const sqlTool = path.join(dir, 'bin', 'temporal-sql-tool');
  const marker = path.join(dir, 'complete');
  const result = { dir, server, sqlTool, home: dir, builtSeconds: 0 };
  if (fs.existsSync(marker) && fs.existsSync(server) && fs.existsSync(sqlTool)) return result;

  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) throw new Error(`building Temporal server ${TEMPORAL_SERVER_VERSION} needs Go (go version failed: ${go.error?.message ?? go.stderr})`);
  const t0 = Date.now();
  const staging = `${dir}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'bin'), { recursive: true });
  const buildLog = path.join(CACHE_DIR, 'temporal-server', `build-v${TEMPORAL_SERVER_VERSION}.log`);
  log(`building Temporal server ${TEMPORAL_SERVER_VERSION} from ${TEMPORAL_SERVER_MODULE} with ${go.stdout.trim()} into ${dir} (first run only; log ${buildLog})`);
  const at = `@v${TEMPORAL_SERVER_VERSION}`;
  const build = spawnSync('go', ['install', `${TEMPORAL_SERVER_MODULE}/cmd/server${at}`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql${at}`], {
    cwd: staging, // outside any module: `go install pkg@version` builds exactly the module's own go.mod
    env: { ...process.env, GOBIN: path.join(staging, 'bin'), CGO_ENABLED: '0' },
    encoding: 'utf8',
    timeout: 3_600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.writeFileSync(buildLog, `${build.stdout ?? ''}${build.stderr ?? ''}`);
  if (build.status !== 0) {
    throw new Error(`go install of Temporal server ${TEMPORAL_SERVER_VERSION} failed (${build.status ?? build.signal}); see ${buildLog}:\n${(build.stderr ?? '').slice(-1500)}`);
  }
  fs.renameSync(path.join(staging, 'bin', 'server'), path.join(staging, 'bin', 'temporal-server'));
  fs.renameSync(path.join(staging, 'bin', 'sql'), path.join(staging, 'bin', 'temporal-sql-tool'));
  // The schema files ship in the module (the admin-tools image has them at /etc/temporal/schema).
  const dl = spawnSync('go', ['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}${at}`], { cwd: staging, encoding: 'utf8', timeout: 600_000 });
  const moduleDir = dl.status === 0 ? (JSON.parse(dl.stdout) as { Dir?: string }).Dir : undefined;
  if (!moduleDir) throw new Error(`go mod download ${TEMPORAL_SERVER_MODULE}${at} failed: ${dl.stderr}`);
  fs.cpSync(path.join(moduleDir, 'schema', 'postgresql'), path.join(staging, 'schema', 'postgresql'), { recursive: true });
  for (const f of fs.readdirSync(path.join(staging, 'schema'), { recursive: true, withFileTypes: true })) {
    // The module cache is read-only; the copy need not be.
    fs.chmodSync(path.join(f.parentPath, f.name), f.isDirectory() ? 0o755 : 0o644);
  }
  fs.writeFileSync(path.join(staging, 'complete'), `${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  result.builtSeconds = Math.round((Date.now() - t0) / 1000);
  log(`built Temporal server ${TEMPORAL_SERVER_VERSION} in ${result.builtSeconds} s`);
  return result;
}

export interface ServerTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  serverName: string;
}

/**
 * mTLS on the frontend (clients must present a certificate the CA signed) and between the server's own services,
 * in the variables of the server's config template; docker-compose.tls.yml sets the same ones.
 */
export function serverTlsEnv(tls: ServerTls): Record<string, string> {
  return {
    TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true',
    TEMPORAL_TLS_SERVER_CA_CERT: tls.caCert,
    TEMPORAL_TLS_SERVER_CERT: tls.serverCert,
    TEMPORAL_TLS_SERVER_KEY: tls.serverKey,
    TEMPORAL_TLS_INTERNODE_SERVER_NAME: tls.serverName,
    TEMPORAL_TLS_FRONTEND_CERT: tls.serverCert,
    TEMPORAL_TLS_FRONTEND_KEY: tls.serverKey,
    // The template lists two client CAs (for a rotation); both are this CA.
    TEMPORAL_TLS_CLIENT1_CA_CERT: tls.caCert,
    TEMPORAL_TLS_CLIENT2_CA_CERT: tls.caCert,
    TEMPORAL_TLS_FRONTEND_SERVER_NAME: tls.serverName,
  };
}

/** The persistence and visibility stores and the dynamic config: what compose's `temporal` service sets too. */
export function storeEnv(postgres: ServerOptions['postgres'], dynamicConfigFile: string): Record<string, string> {
  return {
    DB: 'postgres12',
    DB_PORT: String(postgres.port),
    // The template reads this one for the visibility store (compose's 5432 is its default).
    POSTGRES_PORT: String(postgres.port),
    POSTGRES_SEEDS: postgres.host,
    POSTGRES_USER: postgres.user,
    POSTGRES_PWD: postgres.password,
    DYNAMIC_CONFIG_FILE_PATH: dynamicConfigFile,
  };
}

export interface ServerOptions {
  build: TemporalServerBuild;
  postgres: { host: string; port: number; user: string; password: string };
  dynamicConfigFile: string;
  tls: ServerTls;
  logFile: string;
}

export interface TemporalServerControl {
  address: string;
  /** The config's environment (as compose's `temporal` service gives it), for the record. */
  env: Record<string, string>;
  /** Pids of every server process this control started, to check that none outlives the run. */
  pids: number[];
  start(): Promise<{ address: string }>;
  stop(): Promise<void>;
  /** Whether the process started last is still running. */
  running(): boolean;
}

/** Whether 127.0.0.1:port can be listened on now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port below 32768. The server records its services' gRPC and membership ports in the cluster_membership
 * table, whose port columns are SMALLINT: a port from the kernel's ephemeral range (32768 and up) fails start-up
 * with "out of range for type smallint".
 */
async function freeServerPort(taken: number[]): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.includes(port) && (await canListen(port))) return port;
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

/** The server on ports picked now and kept across restarts (the same address, the same database). */
export async function temporalServer(opts: ServerOptions): Promise<TemporalServerControl> {
  const ports: Record<string, number> = {};
  for (const name of ['FRONTEND_GRPC_PORT', 'FRONTEND_HTTP_PORT', 'FRONTEND_MEMBERSHIP_PORT', 'HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT', 'MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT', 'WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT']) {
    ports[name] = await freeServerPort(Object.values(ports));
  }
  const { tls } = opts;
  const env: Record<string, string> = {
    ...storeEnv(opts.postgres, opts.dynamicConfigFile),
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    ...serverTlsEnv(tls),
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
  const pids: number[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    if (c.exitCode === null && c.signalCode === null) {
      const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
      c.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    }
  };

  const start = async () => {
    if (child) throw new Error('the Temporal server is already running');
    // A port the last run of it still holds for a moment is waited out.
    for (let i = 0; i < 50 && (await isPortOpen('127.0.0.1', ports.FRONTEND_GRPC_PORT)); i++) await new Promise((r) => setTimeout(r, 200));
    const out = fs.openSync(opts.logFile, 'a');
    // Not the caller's environment: a TEMPORAL_* variable of the shell must not change the rendered config.
    const c = spawn(opts.build.server, ['start'], { stdio: ['ignore', out, out], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env } });
    fs.closeSync(out);
    child = c;
    if (c.pid) pids.push(c.pid);
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + 120_000;
    while (!(await isPortOpen('127.0.0.1', ports.FRONTEND_GRPC_PORT))) {
      if (c.exitCode !== null || c.signalCode !== null) {
        child = undefined;
        throw new Error(`temporal-server exited (${c.exitCode ?? c.signalCode}) during start-up; see ${opts.logFile}:\n${tail(opts.logFile)}`);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal-server did not open ${address} within 120 s; see ${opts.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return { address };
  };
  const running = () => !!child && child.exitCode === null && child.signalCode === null;
  return { address, env, pids, start, stop, running };
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}
