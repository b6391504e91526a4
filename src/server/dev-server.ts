/** Starts `temporal server start-dev` with the project's dynamic config and search attributes, and waits until it serves. */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { REPO_ROOT, findOrInstallTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  host?: string;
  port?: number;
  uiPort?: number;
  /** Persist state across restarts in this SQLite file. */
  dbFilename?: string;
  headless?: boolean;
  namespace?: string;
  log?: (msg: string) => void;
  /** Where the server's own output goes; default: discarded. */
  logFile?: string;
  /** Serve the server's own Prometheus metrics (request counters per operation, latencies) on this port. */
  metricsPort?: number;
  /** The Web UI decodes payloads through this codec server (e.g. `dtf codec-server`'s http://127.0.0.1:8888). */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** `http://host:port/metrics` when started with metricsPort. */
  metricsUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export const DYNAMIC_CONFIG_FILE = path.join(REPO_ROOT, 'temporal-config', 'dynamicconfig', 'development.yaml');

/** The dynamic config file (Temporal's file format) as `--dynamic-config-value KEY=JSON` flags: one source for compose and dev. */
export function dynamicConfigFlags(file = DYNAMIC_CONFIG_FILE): string[] {
  if (!fs.existsSync(file)) return [];
  const doc = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, { value: unknown; constraints?: object }[]>;
  const flags: string[] = [];
  for (const [key, entries] of Object.entries(doc)) {
    // The dev server flag sets a global value; constrained entries only apply on a real cluster.
    const global = entries.find((e) => !e.constraints || Object.keys(e.constraints).length === 0);
    if (global) flags.push('--dynamic-config-value', `${key}=${JSON.stringify(global.value)}`);
  }
  return flags;
}

export function devServerArgs(opts: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', opts.host ?? '127.0.0.1', '--port', String(opts.port ?? 7233), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? (opts.port ?? 7233) + 1000), '--ui-disable-news-fetch');
  if (opts.uiCodecEndpoint && !opts.headless) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  args.push(...dynamicConfigFlags());
  return args;
}

export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const log = opts.log ?? (() => undefined);
  if (await isPortOpen(host, port)) throw new Error(`port ${host}:${port} is already in use; is a Temporal server already running there?`);
  const bin = findOrInstallTemporalCli(log);
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(bin, devServerArgs({ ...opts, host, port }), { stdio: ['ignore', out, out] });
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + 60_000;
  while (!(await isPortOpen(host, port))) {
    if (exited !== null) throw new Error(`temporal server start-dev exited with code ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('temporal server start-dev did not open its port within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const uiUrl = opts.headless ? undefined : `http://${host === '0.0.0.0' ? 'localhost' : host}:${opts.uiPort ?? port + 1000}`;
  return {
    address: `${host}:${port}`,
    uiUrl,
    metricsUrl: opts.metricsPort ? `http://${host}:${opts.metricsPort}/metrics` : undefined,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Frontend requests per operation, read from the server's own Prometheus counters (`service_requests`). */
export async function serverRequestCounts(metricsUrl: string): Promise<Map<string, number>> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  const counts = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('service_requests{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (!/service_name="frontend"/.test(labels)) continue;
    const operation = /operation="([^"]+)"/.exec(labels)?.[1] ?? '?';
    counts.set(operation, (counts.get(operation) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}
