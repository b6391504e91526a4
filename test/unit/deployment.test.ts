/**
 * The deployment files (docker-compose.yml, Dockerfile, temporal-config/) against each other and against the code:
 * these fail when a service, a port, a mounted file, a search attribute or the entry point drifts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML, { isMap, isScalar } from 'yaml';
import { HostId, hostQueue, cudaQueueForTier, GPU_MEMORY_TIERS_GB, WORKFLOW_TASK_QUEUE } from '../../src/domain/hardware';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { clientTlsEnv } from '../../bench/cluster/certs';
import { serverTlsEnv, storeEnv, TEMPORAL_SERVER_VERSION } from '../../bench/cluster/temporal-server';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Env | string[];
  ports?: (string | { target: number; published?: number | string })[];
  volumes?: (string | { type?: string; source: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; count?: unknown; capabilities?: string[] }[] } } };
}

const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const tlsOverride = YAML.parse(read('docker-compose.tls.yml'), { merge: true }) as { services: Record<string, Service> };

/** .env.example as compose reads an env file: KEY=value lines, # comments. */
const envExample: Env = Object.fromEntries(
  read('.env.example')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
/** What a filled-in .env holds: .env.example's values with the secrets set. */
const dotEnv: Env = { ...envExample, DTF_POSTGRES_PASSWORD: 'from-the-env-file' };

function svc(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/**
 * Compose's interpolation: `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (which fails when VAR is unset or empty),
 * with `vars` as the env file (a filled-in .env unless told otherwise).
 */
function interpolate(v: string, vars: Env = dotEnv): string {
  return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, rest: string | undefined) => {
    const value = vars[name];
    if (value) return value;
    if (op === '?') throw new Error(`compose refuses to start: ${name} is unset (${rest})`);
    return op === '-' ? (rest ?? '') : '';
  });
}

/** Every variable a compose file interpolates. */
const composeVariables = (text: string) => new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));

function env(s: Service): Env {
  const e = s.environment ?? {};
  const pairs: [string, string][] = Array.isArray(e)
    ? e.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])
    : Object.entries(e).map(([k, v]) => [k, String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v)]));
}

const argv = (v: string[] | string | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : v.split(/\s+/));

/** Container ports the service publishes, by container port → host port. */
function published(s: Service, vars?: Env): Map<number, number> {
  return new Map([...publishedOn(s, vars)].map(([container, { port }]) => [container, port]));
}

/** Container port → host interface and port; an interface of '' is all of them. */
function publishedOn(s: Service, vars?: Env): Map<number, { ip: string; port: number }> {
  const out = new Map<number, { ip: string; port: number }>();
  for (const p of s.ports ?? []) {
    if (typeof p === 'object') out.set(Number(p.target), { ip: '', port: Number(p.published ?? p.target) });
    else {
      const parts = interpolate(String(p), vars).split(':');
      const container = Number(parts[parts.length - 1].split('/')[0]);
      out.set(container, { ip: parts.length > 2 ? parts[parts.length - 3] : '', port: Number(parts.length > 1 ? parts[parts.length - 2] : container) });
    }
  }
  return out;
}

/** Bind mounts as [host path (absolute), container path]. */
function binds(s: Service): [string, string][] {
  return (s.volumes ?? []).flatMap((v): [string, string][] => {
    if (typeof v === 'object') return v.type === 'bind' ? [[path.resolve(ROOT, v.source), v.target]] : [];
    const [src, target] = v.split(':');
    return src.startsWith('.') || src.startsWith('/') ? [[path.resolve(ROOT, src), target]] : [];
  });
}

/** The host file behind a path inside the container, through the service's bind mounts. */
function hostFileFor(s: Service, containerPath: string): string | undefined {
  for (const [host, target] of binds(s)) {
    const t = target.replace(/\/$/, '');
    if (containerPath === t || containerPath.startsWith(`${t}/`)) return path.join(host, containerPath.slice(t.length));
  }
  return undefined;
}

function dependsOn(s: Service): Record<string, string | undefined> {
  const d = s.depends_on ?? [];
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, undefined])) : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v?.condition]));
}

const WORKERS = ['dtf-worker-cpu', 'dtf-worker-cuda'];
const REQUIRED = ['postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', ...WORKERS];

describe('docker-compose.yml', () => {
  it('has the database, server, set-up jobs, Web UI and both workers', () => {
    for (const name of REQUIRED) expect(Object.keys(services)).toContain(name);
  });

  it('pins every image to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image) {
        expect({ name, build: s.build }).toEqual({ name, build: expect.anything() });
        continue;
      }
      const tag = s.image.split('/').pop()!.split(':')[1];
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^v?\d+(\.\d+)*([-.][\w.-]+)?$/) });
    }
  });

  it('runs the same Temporal version for the server and the admin tools that set up its schema', () => {
    const version = (image: string | undefined) => image?.split(':')[1];
    expect(svc('temporal').image).toMatch(/^temporalio\/(server|auto-setup):/);
    // The version `npm run cluster` builds from source and runs these files with.
    expect(version(svc('temporal').image)).toBe(TEMPORAL_SERVER_VERSION);
    expect(version(svc('temporal-schema').image)).toBe(version(svc('temporal').image));
    expect(version(svc('temporal-setup').image)).toBe(version(svc('temporal').image));
  });

  it('points the server at the postgresql service and publishes its gRPC port', () => {
    const e = env(svc('temporal'));
    expect(e.DB).toBe('postgres12');
    expect(Object.keys(services)).toContain(e.POSTGRES_SEEDS);
    expect(e.POSTGRES_SEEDS).toBe('postgresql');
    expect(e.POSTGRES_PWD).toBe(env(svc('postgresql')).POSTGRES_PASSWORD);
    expect(e.POSTGRES_USER).toBe(env(svc('postgresql')).POSTGRES_USER);
    expect(published(svc('temporal')).get(7233)).toBe(7233);
    expect(svc('temporal').healthcheck).toBeDefined();
    expect(svc('postgresql').healthcheck).toBeDefined();
  });

  it('configures the server with the variables `npm run cluster` runs it with', () => {
    const ran = storeEnv({ host: 'h', port: 5432, user: 'u', password: 'p' }, 'f');
    const e = env(svc('temporal'));
    // POSTGRES_PORT: only for a database off 5432, the template's default.
    for (const key of Object.keys(ran).filter((k) => k !== 'POSTGRES_PORT')) expect({ key, set: key in e }).toEqual({ key, set: true });
    expect(e.DB).toBe(ran.DB);
    expect(e.DB_PORT).toBe(ran.DB_PORT);
  });

  const temporalAddress = `temporal:${[...published(services.temporal ?? {}).keys()].find((p) => p === 7233) ?? 'unpublished'}`;

  it.each(WORKERS)('%s reaches Temporal at the temporal service and its gRPC port', (name) => {
    const e = env(svc(name));
    expect(e.TEMPORAL_ADDRESS).toBe(temporalAddress);
    expect(e.TEMPORAL_NAMESPACE ?? 'default').toBe(env(svc('temporal-setup')).TEMPORAL_NAMESPACE ?? 'default');
  });

  it.each(WORKERS)('%s is built from this repo and waits for the server and the search attributes', (name) => {
    const s = svc(name);
    expect(s.build).toBeDefined();
    expect(dependsOn(s)).toEqual(
      expect.objectContaining({ temporal: 'service_healthy', 'temporal-setup': 'service_completed_successfully' }),
    );
  });

  it('gives every worker `worker --host-id` with a valid host id unique in the compose file', () => {
    const ids = WORKERS.map((name) => {
      const cmd = argv(svc(name).command);
      expect(cmd[0]).toBe('worker');
      const i = cmd.indexOf('--host-id');
      expect(i).toBeGreaterThan(0);
      return cmd[i + 1];
    });
    for (const id of ids) expect(HostId.safeParse(id).success).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reserves an NVIDIA GPU for the CUDA worker and none for the CPU worker', () => {
    const devices = svc('dtf-worker-cuda').deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toEqual(expect.arrayContaining([expect.objectContaining({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu']) })]));
    expect(env(svc('dtf-worker-cuda')).NVIDIA_DRIVER_CAPABILITIES?.split(',')).toEqual(expect.arrayContaining(['utility', 'compute']));
    expect(svc('dtf-worker-cpu').deploy?.resources?.reservations?.devices ?? []).toEqual([]);
    expect(argv(svc('dtf-worker-cpu').command)).not.toContain('--simulate-gpu');
  });

  it('keeps `docker compose up` working on hosts without GPUs (only the CUDA worker is behind a profile)', () => {
    expect(svc('dtf-worker-cuda').profiles).toEqual(['gpu']);
    for (const name of REQUIRED.filter((n) => n !== 'dtf-worker-cuda')) expect(svc(name).profiles).toBeUndefined();
  });

  it('points the Web UI at the temporal service', () => {
    expect(env(svc('temporal-ui')).TEMPORAL_ADDRESS).toBe(temporalAddress);
    expect(published(svc('temporal-ui')).get(8080)).toBe(8080);
    expect(dependsOn(svc('temporal-ui')).temporal).toBe('service_healthy');
    expect(env(svc('temporal-setup')).TEMPORAL_ADDRESS).toBe(temporalAddress);
  });

  it('orders start-up: database, schema, server, namespace and search attributes', () => {
    expect(dependsOn(svc('temporal-schema')).postgresql).toBe('service_healthy');
    expect(dependsOn(svc('temporal'))['temporal-schema']).toBe('service_completed_successfully');
    expect(dependsOn(svc('temporal-setup')).temporal).toBe('service_healthy');
    expect(env(svc('temporal-schema')).SQL_HOST).toBe('postgresql');
  });

  it('mounts only files that exist', () => {
    for (const s of Object.values(services)) for (const [host] of binds(s)) expect(fs.existsSync(host)).toBe(true);
  });

  it.each([
    ['temporal-schema', 'setup-postgres-schema.sh'],
    ['temporal-setup', 'bootstrap-namespace.sh'],
  ])('%s runs temporal-config/%s through its mount', (name, script) => {
    const s = svc(name);
    const containerScript = [...argv(s.entrypoint), ...argv(s.command)].find((a) => a.endsWith('.sh'));
    expect(containerScript).toBeDefined();
    expect(hostFileFor(s, containerScript!)).toBe(path.join(ROOT, 'temporal-config', script));
  });
});

describe('docker-compose.yml: exposure and secrets', () => {
  const publishing = Object.entries(services).filter(([, s]) => (s.ports ?? []).length > 0);

  it('publishes the frontend and the Web UI (and, in the monitoring profile, Prometheus and Grafana) on 127.0.0.1 by default, and nothing else', () => {
    expect(publishing.map(([name]) => name).sort()).toEqual(['grafana', 'prometheus', 'temporal', 'temporal-ui']);
    for (const [name, s] of publishing) {
      for (const [port, on] of publishedOn(s, envExample)) expect({ name, port, ip: on.ip }).toEqual({ name, port, ip: '127.0.0.1' });
      // Also with no .env at all.
      for (const [port, on] of publishedOn(s, { DTF_POSTGRES_PASSWORD: 'x' })) expect({ name, port, ip: on.ip }).toEqual({ name, port, ip: '127.0.0.1' });
    }
  });

  it('publishes them wider only when the env file says so (DTF_BIND_ADDRESS)', () => {
    expect(publishedOn(svc('temporal'), { ...dotEnv, DTF_BIND_ADDRESS: '0.0.0.0' }).get(7233)).toEqual({ ip: '0.0.0.0', port: 7233 });
  });

  it('takes the PostgreSQL password from the env file, with no default: without it compose refuses to start', () => {
    const raw = YAML.parse(read('docker-compose.yml')) as { services: Record<string, { environment?: Env }> };
    const uses = [
      ['postgresql', 'POSTGRES_PASSWORD'],
      ['temporal-schema', 'SQL_PASSWORD'],
      ['temporal', 'POSTGRES_PWD'],
    ];
    for (const [name, key] of uses) {
      const value = raw.services[name].environment?.[key] ?? '';
      expect({ name, key, value }).toEqual({ name, key, value: expect.stringMatching(/^\$\{DTF_POSTGRES_PASSWORD:\?[^}]+\}$/) });
      expect(() => interpolate(value, {})).toThrow(/DTF_POSTGRES_PASSWORD/);
      expect(interpolate(value)).toBe(dotEnv.DTF_POSTGRES_PASSWORD);
    }
    // No service carries a password of its own in the file.
    for (const [name, s] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|PWD|SECRET|TOKEN|API_KEY/.test(key)) expect({ name, key, value: String(value) }).toEqual({ name, key, value: expect.stringMatching(/^\$\{[A-Z_]+:\?/) });
      }
    }
  });

  it('has an .env.example naming every variable the compose files read, with no secret filled in', () => {
    const used = new Set([...composeVariables(read('docker-compose.yml')), ...composeVariables(read('docker-compose.tls.yml'))]);
    for (const name of used) expect({ name, inExample: name in envExample }).toEqual({ name, inExample: true });
    for (const [name, value] of Object.entries(envExample)) if (/PASSWORD|TOKEN|SECRET/.test(name)) expect({ name, value }).toEqual({ name, value: '' });
    expect(envExample).toHaveProperty('DTF_POSTGRES_PASSWORD');
    expect(envExample.DTF_BIND_ADDRESS).toBe('127.0.0.1');
  });

  it('keeps the real env file and certificates out of git and out of the image', () => {
    const lines = (file: string) => read(file).split(/\r?\n/).map((l) => l.trim());
    expect(lines('.gitignore')).toEqual(expect.arrayContaining(['.env', 'certs/']));
    expect(lines('.dockerignore')).toEqual(expect.arrayContaining(['.env', 'certs']));
  });
});

describe('docker-compose.tls.yml (mTLS, the settings `npm run cluster` runs with)', () => {
  const over = tlsOverride.services;
  const serverEnv = env(over.temporal ?? {});
  const inContainer = (s: Service, file: string) => hostFileFor(s, file);

  it('only adds to services the base file has', () => {
    for (const name of Object.keys(over)) expect(Object.keys(services)).toContain(name);
  });

  it('sets on the server exactly the TLS variables the cluster run sets, with client certificates required', () => {
    const tlsKeys = Object.keys(serverEnv).filter((k) => k.startsWith('TEMPORAL_TLS_'));
    const ran = serverTlsEnv({ caCert: 'ca', serverCert: 'c', serverKey: 'k', serverName: 'n' });
    expect(tlsKeys.sort()).toEqual(Object.keys(ran).sort());
    expect(serverEnv.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
  });

  it("mounts the certificates where the server's variables point, from the folder .env names", () => {
    const s = { ...over.temporal, volumes: (over.temporal?.volumes ?? []).map((v) => (typeof v === 'string' ? interpolate(v) : v)) };
    for (const key of ['TEMPORAL_TLS_SERVER_CA_CERT', 'TEMPORAL_TLS_SERVER_CERT', 'TEMPORAL_TLS_SERVER_KEY', 'TEMPORAL_TLS_FRONTEND_CERT', 'TEMPORAL_TLS_CLIENT1_CA_CERT']) {
      expect({ key, host: inContainer(s, serverEnv[key]) }).toEqual({ key, host: expect.stringContaining(path.join(ROOT, 'certs')) });
    }
  });

  it('gives every client (workers, set-up job) the variables dtf and the Temporal CLI read, for the name clients dial', () => {
    const clientKeys = Object.keys(clientTlsEnv({ caCert: 'a', clientCert: 'b', clientKey: 'c', serverName: 'd' })).sort();
    const dialled = temporalAddressHost();
    for (const name of ['temporal-setup', ...WORKERS]) {
      const e = env(over[name] ?? {});
      expect({ name, keys: Object.keys(e).filter((k) => k.startsWith('TEMPORAL_TLS_')).sort() }).toEqual({ name, keys: clientKeys });
      expect(e.TEMPORAL_TLS_SERVER_NAME).toBe(dialled);
      const s = { ...over[name], volumes: (over[name]?.volumes ?? []).map((v) => (typeof v === 'string' ? interpolate(v) : v)) };
      expect(inContainer(s, e.TEMPORAL_TLS_CLIENT_CERT_PATH)).toBe(path.join(ROOT, 'certs', 'client.pem'));
    }
    expect(serverEnv.TEMPORAL_TLS_FRONTEND_SERVER_NAME).toBe(dialled);
    expect(env(over['temporal-ui'] ?? {}).TEMPORAL_TLS_CERT).toBeDefined();
  });

  function temporalAddressHost(): string {
    return (env(svc('dtf-worker-cpu')).TEMPORAL_ADDRESS ?? '').split(':')[0];
  }

  const canMake = spawnSync('openssl', ['version']).status === 0;
  (canMake ? it : it.skip)('temporal-config/make-certs.sh makes a CA, a server certificate for those names and a client certificate that verify', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-certs-'));
    try {
      const r = spawnSync('sh', [path.join(ROOT, 'temporal-config', 'make-certs.sh'), dir, 'localhost', temporalAddressHost()], { encoding: 'utf8', env: { ...process.env, DTF_CERT_DAYS: '1' } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readdirSync(dir).sort()).toEqual(['ca.pem', 'client.key', 'client.pem', 'server.key', 'server.pem']);
      const text = (file: string, ...ext: string[]) => spawnSync('openssl', ['x509', '-in', path.join(dir, file), '-noout', '-ext', ext.join(',')], { encoding: 'utf8' }).stdout;
      expect(text('server.pem', 'subjectAltName')).toMatch(new RegExp(`DNS:${temporalAddressHost()}\\b`));
      expect(text('server.pem', 'extendedKeyUsage')).toMatch(/Server Authentication.*Client Authentication/);
      expect(text('client.pem', 'extendedKeyUsage')).toMatch(/Client Authentication/);
      expect(spawnSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'server.pem'), path.join(dir, 'client.pem')]).status).toBe(0);
      expect(fs.statSync(path.join(dir, 'client.key')).mode & 0o077).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('temporal-config/dynamicconfig', () => {
  const temporal = services.temporal ?? {};
  const configPath = env(temporal).DYNAMIC_CONFIG_FILE_PATH ?? '';
  // The server resolves a relative path against its working directory, /etc/temporal.
  const inContainer = configPath.startsWith('/') ? configPath : path.posix.join('/etc/temporal', configPath);
  const hostFile = hostFileFor(temporal, inContainer);

  it('is the file mounted into the temporal service, and it exists', () => {
    expect(hostFile).toBe(path.join(ROOT, 'temporal-config', 'dynamicconfig', 'development.yaml'));
    expect(fs.existsSync(hostFile!)).toBe(true);
  });

  const text = fs.readFileSync(path.join(ROOT, 'temporal-config/dynamicconfig/development.yaml'), 'utf8');
  const config = YAML.parse(text) as Record<string, unknown>;

  it('maps each key to a list of {value, constraints?}, with one unconstrained value for the dev-server flags', () => {
    expect(Object.keys(config).length).toBeGreaterThan(0);
    for (const [key, entries] of Object.entries(config)) {
      expect(key).toMatch(/^[a-z]+\.[A-Za-z0-9.]+$/);
      expect(Array.isArray(entries)).toBe(true);
      for (const entry of entries as Record<string, unknown>[]) {
        expect(Object.keys(entry).every((k) => k === 'value' || k === 'constraints')).toBe(true);
        expect(entry).toHaveProperty('value');
        if (entry.constraints !== undefined) expect(typeof entry.constraints).toBe('object');
      }
      const global = (entries as { constraints?: object }[]).filter((e) => !e.constraints || Object.keys(e.constraints).length === 0);
      expect({ key, unconstrained: global.length }).toEqual({ key, unconstrained: 1 });
    }
  });

  it('says why for every key', () => {
    const doc = YAML.parseDocument(text);
    expect(isMap(doc.contents)).toBe(true);
    if (!isMap(doc.contents)) return;
    doc.contents.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      // The first key's comment is attached to the document when a blank line separates it from the header.
      const comment = (pair.key as { commentBefore?: string }).commentBefore ?? (i === 0 ? doc.commentBefore : undefined);
      expect({ key, comment: comment?.trim() }).toEqual({ key, comment: expect.stringMatching(/\S/) });
    });
  });

  const value = (key: string) => (config[key] as { value: unknown; constraints?: object }[] | undefined)?.find((e) => !e.constraints || !Object.keys(e.constraints).length)?.value;

  it('enables workflow updates (dtf reassign) and instant search attributes', () => {
    expect(value('frontend.enableUpdateWorkflowExecution')).toBe(true);
    expect(value('frontend.enableUpdateWorkflowExecutionAsyncAccepted')).toBe(true);
    expect(value('system.forceSearchAttributesCacheRefreshOnRead')).toBe(true);
  });

  it('keeps the ID limit within PostgreSQL columns yet above every dtf queue name', () => {
    const limit = value('limit.maxIDLength') as number;
    expect(limit).toBeLessThanOrEqual(255);
    const longestHost = 'a'.repeat(63);
    expect(HostId.safeParse(longestHost).success).toBe(true);
    const names = [hostQueue(longestHost), WORKFLOW_TASK_QUEUE, ...GPU_MEMORY_TIERS_GB.map(cudaQueueForTier)];
    for (const n of names) expect(n.length).toBeLessThanOrEqual(limit);
  });

  it('uses as many write partitions as read partitions', () => {
    expect(value('matching.numTaskqueueWritePartitions')).toBe(value('matching.numTaskqueueReadPartitions'));
  });
});

describe('temporal-config/search-attributes.json', () => {
  it('is exactly SEARCH_ATTRIBUTES from src/domain/search-attributes.ts', () => {
    expect(JSON.parse(read('temporal-config/search-attributes.json'))).toEqual(SEARCH_ATTRIBUTES);
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push([]);
    stages[stages.length - 1]?.push(l);
  }
  const final = stages[stages.length - 1] ?? [];
  const instr = (stage: string[], name: string) => stage.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length).trim());
  const args = Object.fromEntries(lines.filter((l) => /^ARG\s/i.test(l)).map((l) => l.slice(4).trim().split('=')) as [string, string][]);
  const image = (from: string) => from.split(/\s+/)[0].replace(/\$\{?(\w+)\}?/, (_m, v: string) => args[v] ?? '');

  it('builds in one stage and runs in another, both on one exact release of a supported Node LTS', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const images = new Set(stages.map((stage) => image(instr(stage, 'FROM')[0])));
    expect(images.size).toBe(1);
    const [ref] = images;
    // node:<major>.<minor>.<patch>-<debian>-slim, optionally @sha256:<64 hex>.
    const m = /^node:(\d+)\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/.exec(ref);
    expect({ ref, pinned: !!m }).toEqual({ ref, pinned: true });
    // LTS lines still supported (22: until 2027-04, 24: until 2028-04); 24 is the newest one better-sqlite3 12.9 supports.
    expect(['22', '24']).toContain(m![1]);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const sqlite = JSON.parse(read('node_modules/better-sqlite3/package.json')) as { version: string; engines: { node: string } };
    expect(sqlite.version).toBe(pkg.dependencies['better-sqlite3']);
    expect(sqlite.engines.node.split('||').map((r) => r.trim())).toContain(`${m![1]}.x`);
  });

  it('installs with npm ci (which builds) and then drops the dev dependencies', () => {
    const run = stages.slice(0, -1).flatMap((s) => instr(s, 'RUN')).join(' && ');
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm prune --omit=dev/);
    expect(run.indexOf('npm ci')).toBeLessThan(run.indexOf('npm prune'));
  });

  it('runs as a non-root user', () => {
    const user = instr(final, 'USER').pop();
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
  });

  it('has `node bin/dtf.js` as its entry point (the package\'s bin) and `worker` as the default command', () => {
    const entrypoint = JSON.parse(instr(final, 'ENTRYPOINT').pop() ?? 'null') as string[];
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    const node = entrypoint.indexOf('node');
    expect(node).toBeGreaterThanOrEqual(0);
    expect(path.normalize(entrypoint[node + 1])).toBe(path.normalize(pkg.bin.dtf));
    expect(JSON.parse(instr(final, 'CMD').pop() ?? 'null')).toEqual(['worker']);
  });

  it('keeps host build outputs and state out of the context, and the sources in', () => {
    const patterns = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.dtf', '.git']) expect(patterns).toContain(p);
    const ignored = (rel: string) => patterns.some((p) => !p.startsWith('!') && (p === rel || rel.startsWith(`${p.replace(/\/$/, '')}/`)));
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/domain/hardware.ts', 'bin/dtf.js', 'temporal-config/dynamicconfig/development.yaml']) {
      expect({ needed, ignored: ignored(needed) }).toEqual({ needed, ignored: false });
    }
  });
});

describe('temporal-config/register-search-attributes.sh', () => {
  const script = path.join(ROOT, 'temporal-config', 'register-search-attributes.sh');

  it('reads temporal-config/search-attributes.json', () => {
    expect(read('temporal-config/register-search-attributes.sh')).toContain('search-attributes.json');
  });

  const tools = ['python3', 'node'].filter((t) => spawnSync(t, ['--version']).status === 0);
  const runnable = process.platform !== 'win32' && spawnSync('sh', ['-c', 'true']).status === 0;
  const maybe = runnable ? describe : describe.skip;

  /** A stand-in `temporal` CLI: logs its arguments; `existing` holds what the "server" already has (name=Type). */
  function fakeCli(dir: string, existing: Record<string, string>): string {
    const bin = path.join(dir, 'temporal');
    const custom = JSON.stringify({ customAttributes: Object.fromEntries(Object.entries(existing).map(([n, t]) => [n, t === 'KeywordList' ? 'INDEXED_VALUE_TYPE_KEYWORD_LIST' : `INDEXED_VALUE_TYPE_${t.toUpperCase()}`])) });
    const cases = Object.entries(existing)
      .map(([n, t]) => `  *"--name ${n} --type ${t} "*) echo "Error: unable to add search attributes: search attribute ${n} already exists" >&2; exit 1 ;;\n  *"--name ${n} "*) echo "Error: search attribute ${n} already exists and has different type ${t}" >&2; exit 1 ;;`)
      .join('\n');
    fs.writeFileSync(
      bin,
      `#!/bin/sh
echo "$*" >> "${dir}/calls.log"
case "$* " in
  *"search-attribute list"*) echo '${custom}'; exit 0 ;;
${cases}
esac
echo "Search attributes have been added"
`,
      { mode: 0o755 },
    );
    return bin;
  }

  function run(tool: string, existing: Record<string, string>, extraArgs: string[] = []) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-sa-'));
    const bin = fakeCli(dir, existing);
    const res = spawnSync('sh', [script, '--namespace', 'dtf-ns', ...extraArgs], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_CLI: bin, DTF_JSON_TOOL: tool, DTF_VERIFY_ATTEMPTS: '1', DTF_VERIFY_INTERVAL_S: '0' },
    });
    const calls = fs.existsSync(path.join(dir, 'calls.log')) ? fs.readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n') : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { ...res, calls };
  }

  maybe.each(tools)('with %s parsing the JSON', (tool) => {
    it('creates every attribute of SEARCH_ATTRIBUTES with its type on the given namespace', () => {
      // The fake server starts empty and does not remember creations, so the listing is checked in the next test.
      const r = run(tool, {}, ['--no-verify']);
      expect(r.status).toBe(0);
      const creates = r.calls.filter((c) => c.includes('search-attribute create'));
      expect(creates).toHaveLength(Object.keys(SEARCH_ATTRIBUTES).length);
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
        expect(creates).toContain(`operator search-attribute create --namespace dtf-ns --name ${name} --type ${type}`);
      }
    });

    it('is idempotent: "already exists" with the same type is fine, and the listing confirms all of them', () => {
      const r = run(tool, SEARCH_ATTRIBUTES);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.calls.some((c) => c.startsWith('operator search-attribute list --namespace dtf-ns'))).toBe(true);
    });

    it('fails when an attribute exists with another type', () => {
      const r = run(tool, { ...SEARCH_ATTRIBUTES, DtfStatus: 'Text' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/DtfStatus/);
    });

    it('fails when the namespace does not list an attribute afterwards', () => {
      const { DtfLabels: _omitted, ...rest } = SEARCH_ATTRIBUTES;
      const r = run(tool, rest);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/DtfLabels=KeywordList/);
    });

    it('prints the tcld command for Temporal Cloud from the same JSON', () => {
      const r = run(tool, {}, ['--tcld']);
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([]);
      expect(r.stdout).toMatch(/^tcld namespace search-attributes add --namespace dtf-ns/);
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(r.stdout).toContain(`--sa "${name}=${type}"`);
    });
  });
});
