/**
 * The monitoring profile (deploy/prometheus, deploy/grafana, the monitoring services of docker-compose.yml)
 * against the code: the files parse, the scrape targets are the compose services on the ports their flags and
 * environment give, the alert rules are the seeds' with the deployment config's default thresholds, and every
 * metric the rules and the dashboard use is one dtf defines (src/metrics/catalog.ts) or a known Temporal metric.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ALERT_RULES, AlertsConfig } from '../../src/metrics/alerts';
import { DTF_METRICS, HOST_LABEL, MetricDefinition, PROMETHEUS_BUILTIN_METRICS, TEMPORAL_SDK_METRICS, TEMPORAL_SERVER_METRICS, exportedSeriesNames } from '../../src/metrics/catalog';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
}
const composeText = read('docker-compose.yml');
const services = (YAML.parse(composeText) as { services: Record<string, Service> }).services;
const argv = (v: string[] | string | undefined) => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : v.split(/\s+/));
const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) : { ...(s.environment ?? {}) };
const portOf = (bind: string) => Number(bind.slice(bind.lastIndexOf(':') + 1));
/** The container path → host file of a service's bind mounts. */
const mountOf = (s: Service, target: string) => {
  for (const v of s.volumes ?? []) {
    const [src, dst] = v.split(':');
    if (dst === target) return path.resolve(ROOT, src);
  }
  return undefined;
};

const dockerfileEnv = Object.fromEntries([...read('Dockerfile').matchAll(/^ENV\s+([A-Z_]+)=(\S+)/gm)].map((m) => [m[1], m[2]]));

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  file_sd_configs?: { files: string[] }[];
}
const prometheus = YAML.parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
const job = (name: string) => {
  const j = prometheus.scrape_configs.find((c) => c.job_name === name);
  if (!j) throw new Error(`prometheus.yml has no job ${name}`);
  return j;
};
const targetsOf = (j: ScrapeConfig) => (j.static_configs ?? []).flatMap((c) => c.targets);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (YAML.parse(read('deploy/prometheus/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('deploy/grafana/dashboards/dtf.json')) as {
  uid: string;
  panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[] }[];
};

/** Every metric name a PromQL expression uses (functions, keywords, label names and strings left out). */
export function promqlMetricNames(expr: string): string[] {
  const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase())) continue;
    names.add(m[1]);
  }
  return [...names];
}

/** Label matchers of dtf metrics in an expression, as [metric, label]. */
function dtfSelectorLabels(expr: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of expr.matchAll(/\b(dtf_[a-z0-9_]+)\{([^}]*)\}/g)) for (const l of m[2].matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)) out.push([m[1], l[1]]);
  return out;
}

const withSuffixes = (names: ReadonlySet<string>) => new Set([...names].flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
const KNOWN = new Set([...Object.values(DTF_METRICS).flatMap(exportedSeriesNames), ...withSuffixes(TEMPORAL_SDK_METRICS), ...withSuffixes(TEMPORAL_SERVER_METRICS), ...PROMETHEUS_BUILTIN_METRICS]);
const byName = new Map<string, MetricDefinition>(Object.values(DTF_METRICS).flatMap((d) => exportedSeriesNames(d).map((n) => [n, d] as const)));

describe('src/metrics/catalog.ts', () => {
  it('names every metric once, as Prometheus allows, with dtf_ first', () => {
    const names = Object.values(DTF_METRICS).map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^dtf_[a-z][a-z0-9_]*$/);
  });

  it('never labels by a task, workflow or run id, and never sets the global host label itself', () => {
    for (const d of Object.values(DTF_METRICS)) {
      for (const l of d.labels) {
        expect({ metric: d.name, label: l }).toEqual({ metric: d.name, label: expect.stringMatching(/^[a-z][a-z_]*$/) });
        expect(['task', 'task_id', 'workflow', 'workflow_id', 'run_id', 'batch', 'batch_id', HOST_LABEL]).not.toContain(l);
      }
    }
  });

  it('gives every histogram increasing buckets and every metric a help text', () => {
    for (const d of Object.values(DTF_METRICS)) {
      expect(d.help.length).toBeGreaterThan(20);
      if (d.kind !== 'histogram') continue;
      expect(d.buckets?.length).toBeGreaterThan(3);
      expect([...d.buckets!].sort((a, b) => a - b)).toEqual([...d.buckets!]);
    }
  });
});

describe('PromQL metric names', () => {
  it('finds metrics and leaves out functions, labels and keywords', () => {
    expect(promqlMetricNames('sum by (category) (increase(dtf_attempt_failures{kind="x"}[5m])) > 10 and on (host) up == 1').sort()).toEqual(['dtf_attempt_failures', 'up']);
    expect(promqlMetricNames('histogram_quantile(0.95, sum by (le) (rate(service_latency_bucket[5m])))')).toEqual(['service_latency_bucket']);
  });
});

describe('deploy/prometheus', () => {
  const prom = services.prometheus;

  it('runs in the monitoring profile with its config, rules and worker lists mounted, published on 127.0.0.1 only', () => {
    expect(prom.profiles).toEqual(['monitoring']);
    const configFile = argv(prom.command).find((a) => a.startsWith('--config.file='))!.split('=')[1];
    expect(mountOf(prom, configFile)).toBe(path.join(ROOT, 'deploy/prometheus/prometheus.yml'));
    for (const f of prometheus.rule_files) expect(mountOf(prom, f) && fs.existsSync(mountOf(prom, f)!)).toBe(true);
    expect(mountOf(prom, prometheus.rule_files[0])).toBe(path.join(ROOT, 'deploy/prometheus/alerts.yml'));
    const sd = job('dtf-workers').file_sd_configs![0].files[0];
    expect(mountOf(prom, path.dirname(sd))).toBe(path.join(ROOT, 'deploy/prometheus/workers.d'));
    for (const s of [prom, services.grafana]) for (const p of s.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('scrapes every worker of the compose file on the port its flags or environment give', () => {
    const workers = Object.entries(services).filter(([, s]) => argv(s.command)[0] === 'worker');
    expect(workers.length).toBeGreaterThanOrEqual(2);
    const want = workers.map(([name, s]) => {
      const cmd = argv(s.command);
      const flag = cmd.indexOf('--metrics-bind');
      const bind = flag >= 0 ? cmd[flag + 1] : (envOf(s).DTF_METRICS_BIND ?? dockerfileEnv.DTF_METRICS_BIND);
      expect({ service: name, bind }).toEqual({ service: name, bind: expect.stringMatching(/^0\.0\.0\.0:\d+$/) });
      return `${name}:${portOf(bind)}`;
    });
    expect(targetsOf(job('dtf-workers')).sort()).toEqual(want.sort());
  });

  it('scrapes the Temporal server on its PROMETHEUS_ENDPOINT port', () => {
    const [target] = targetsOf(job('temporal-server'));
    expect(target.split(':')[0]).toBe('temporal');
    expect(services.temporal).toBeDefined();
    // The server's endpoint: set in its environment, or (until then) the line the monitoring block says to add.
    const endpoint = envOf(services.temporal).PROMETHEUS_ENDPOINT ?? /#\s+PROMETHEUS_ENDPOINT:\s*(\S+)/.exec(composeText)?.[1];
    expect(endpoint).toBeDefined();
    expect(portOf(target)).toBe(portOf(endpoint!));
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  const defaults = AlertsConfig.parse({});
  const toMs = (d: string) => {
    const m = /^(\d+)(s|m|h)$/.exec(d)!;
    return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  };
  const rule = (name: string) => {
    const r = rules.find((x) => x.labels.dtf_rule === name);
    if (!r) throw new Error(`no rule with dtf_rule ${name}`);
    return r;
  };

  it('has every seed rule, each with a severity', () => {
    for (const name of ALERT_RULES) expect(rule(name).labels.severity).toMatch(/^(info|warning|critical)$/);
    for (const r of rules) expect(r.labels.severity).toMatch(/^(info|warning|critical)$/);
    for (const r of rules) expect(r.annotations.summary).toBeTruthy();
  });

  it.each([
    ['task_success_rate', '<', defaults.taskSuccessRate.threshold, defaults.taskSuccessRate.windowMs, defaults.taskSuccessRate.severity],
    ['error_rate', '>', defaults.errorRate.threshold, defaults.errorRate.windowMs, defaults.errorRate.severity],
    ['category_burst', '>', defaults.categoryBurst.threshold, defaults.categoryBurst.windowMs, defaults.categoryBurst.severity],
    ['recovery_failure_rate', '>', defaults.recoveryFailureRate.threshold, defaults.recoveryFailureRate.windowMs, defaults.recoveryFailureRate.severity],
    ['reconnect_rate', '>', defaults.reconnectRate.threshold, defaults.reconnectRate.windowMs, defaults.reconnectRate.severity],
  ])('%s: %s the config default threshold %s over the same window, same severity', (name, op, threshold, windowMs, severity) => {
    const r = rule(name);
    expect(r.labels.severity).toBe(severity);
    const compared = [...r.expr.matchAll(/([<>])\s*([\d.]+)/g)].map((m) => [m[1], Number(m[2])]);
    expect(compared).toContainEqual([op, threshold]);
    const windows = new Set([...r.expr.matchAll(/\[(\d+[smh])\]/g)].map((m) => toMs(m[1])));
    expect([...windows]).toEqual([windowMs]);
  });

  it('reconnect_failed: a connection down for the config default time, critical', () => {
    const r = rule('reconnect_failed');
    expect(r.labels.severity).toBe(defaults.reconnectFailed.severity);
    expect(toMs(r.for!)).toBe(defaults.reconnectFailed.afterMs);
  });

  it('uses only metrics that exist, with the labels they have', () => {
    for (const r of rules) {
      for (const n of promqlMetricNames(r.expr)) expect({ rule: r.alert, metric: n, known: KNOWN.has(n) }).toEqual({ rule: r.alert, metric: n, known: true });
      for (const [m, l] of dtfSelectorLabels(r.expr)) expect([...byName.get(m)!.labels, HOST_LABEL]).toContain(l);
    }
  });
});

describe('deploy/grafana', () => {
  const grafana = services.grafana;
  const datasources = (YAML.parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string; type: string }[] }).datasources;
  const provider = (YAML.parse(read('deploy/grafana/provisioning/dashboards/dtf.yml')) as { providers: { options: { path: string } }[] }).providers[0];

  it('runs in the monitoring profile with its provisioning and the dashboard mounted where the provider looks', () => {
    expect(grafana.profiles).toEqual(['monitoring']);
    expect(mountOf(grafana, '/etc/grafana/provisioning')).toBe(path.join(ROOT, 'deploy/grafana/provisioning'));
    expect(mountOf(grafana, provider.options.path)).toBe(path.join(ROOT, 'deploy/grafana/dashboards'));
  });

  it('reads Prometheus at the prometheus service, under the uid every panel names', () => {
    expect(datasources).toHaveLength(1);
    const ds = datasources[0];
    expect(ds.type).toBe('prometheus');
    const url = new URL(ds.url);
    expect(Object.keys(services)).toContain(url.hostname);
    expect(argv(services.prometheus.ports).map((p) => String(p).split(':').pop())).toContain(url.port);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid).toBe(ds.uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(ds.uid);
    }
  });

  it('has the fleet, tasks, errors, recovery, hardware and server health sections', () => {
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Fleet', 'Tasks', 'Errors', 'Recovery', 'Hardware', 'Server health']);
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const word of ['category', 'host', 'gpu', 'breaker', 'quarantined', 'reconnect', 'failover', 'server']) expect(titles).toContain(word);
  });

  it('uses only metrics that exist, with the labels they have', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      for (const n of promqlMetricNames(expr)) expect({ panel, metric: n, known: KNOWN.has(n) }).toEqual({ panel, metric: n, known: true });
      for (const [m, l] of dtfSelectorLabels(expr)) expect([...byName.get(m)!.labels, HOST_LABEL]).toContain(l);
    }
    // Every dtf metric is on the dashboard somewhere.
    const used = new Set(exprs.flatMap((e) => promqlMetricNames(e.expr)));
    for (const d of Object.values(DTF_METRICS)) {
      if (d.name === 'dtf_gpus_simulated') continue; // a fact about the host, not a panel
      expect({ metric: d.name, onDashboard: exportedSeriesNames(d).some((n) => used.has(n)) }).toEqual({ metric: d.name, onDashboard: true });
    }
  });
});
