/**
 * Renderers of a Report: text (a terminal), md (a CI job summary), json (machines), html (one self-contained file with
 * inline SVG charts — error trends, a per-host heatmap — that opens without a network).
 */
import type { GroupFailure, Report, TestRow } from './analytics';

export const REPORT_FORMATS = ['text', 'md', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderText(report);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const secs = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);
const short = (s: string | undefined, n: number) => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

interface Column<T> {
  header: string;
  value: (row: T) => string | number;
  right?: boolean;
}

interface Section<T> {
  title: string;
  rows: T[];
  columns: Column<T>[];
  empty: string;
}

function sections(r: Report): Section<any>[] {
  const groupCols = (label: string): Column<GroupFailure>[] => [
    { header: label, value: (g) => g.name },
    { header: 'attempts', value: (g) => g.attempts, right: true },
    { header: 'failed', value: (g) => g.failures, right: true },
    { header: 'share', value: (g) => pct(g.failureShare), right: true },
    { header: 'hw/worker', value: (g) => g.hardwareFailures, right: true },
    { header: 'rest', value: (g) => pct(g.restShare), right: true },
    { header: 'z', value: (g) => g.z.toFixed(1), right: true },
    { header: 'out of line', value: (g) => (g.outOfLine ? 'YES' : ''), right: false },
    { header: 'top categories', value: (g) => topCats(g.byCategory) },
  ];
  const testCols = (extra: Column<TestRow>[] = []): Column<TestRow>[] => [
    { header: 'case', value: (t) => short(t.caseId, 70) },
    { header: 'task', value: (t) => t.task },
    { header: 'state', value: (t) => t.state },
    { header: 'runs', value: (t) => t.runs, right: true },
    { header: 'failed', value: (t) => t.failures, right: true },
    { header: 'flaky', value: (t) => t.flakyRuns, right: true },
    { header: 'fail rate', value: (t) => pct(t.failureRate), right: true },
    { header: 'history (old→new)', value: (t) => t.history.slice(-20) },
    ...extra,
  ];
  return [
    {
      title: 'Errors by category',
      rows: r.errorsByCategory,
      empty: 'no errors',
      columns: [
        { header: 'category', value: (c) => c.category },
        { header: 'errors', value: (c) => c.errors, right: true },
        { header: 'tasks', value: (c) => c.tasks, right: true },
        { header: 'share', value: (c) => pct(c.share), right: true },
      ],
    },
    {
      title: 'Recovery actions: what each achieved',
      rows: r.recoveryActions,
      empty: 'no recovery actions',
      columns: [
        { header: 'action', value: (a) => a.action },
        { header: 'taken', value: (a) => a.taken, right: true },
        { header: 'tasks', value: (a) => a.tasks, right: true },
        { header: 'reached a verdict', value: (a) => a.recovered, right: true },
        { header: 'rate', value: (a) => pct(a.rate), right: true },
        { header: 'passed', value: (a) => a.passed, right: true },
      ],
    },
    { title: 'Hosts (failure share of their attempts)', rows: r.errorsByHost.slice(0, 15), empty: 'no attempts', columns: groupCols('host') },
    { title: 'GPU models', rows: r.errorsByGpuModel, empty: 'no GPU attempts', columns: groupCols('GPU model') },
    {
      title: 'Flakiest tests',
      rows: r.flakyTests,
      empty: 'no flaky tests',
      columns: testCols([{ header: 'failed on', value: (t) => t.failedOn.map((f) => `${f.host}×${f.count}`).join(' ') }]),
    },
    { title: 'Most-failing tests', rows: r.mostFailingTests, empty: 'no failing tests', columns: testCols([{ header: 'last failure', value: (t) => short(t.lastFailureMessage, 60) }]) },
    {
      title: 'Tests that fail on one host and pass on others',
      rows: r.hostAttributedTests,
      empty: 'none',
      columns: [
        { header: 'case', value: (a) => short(a.id, 70) },
        { header: 'host', value: (a) => a.host },
        { header: 'failed there', value: (a) => `${a.hostFailures}/${a.hostRuns}`, right: true },
        { header: 'failed elsewhere', value: (a) => `${a.otherFailures}/${a.otherRuns}`, right: true },
        { header: 'host score', value: (a) => a.score.toFixed(2), right: true },
      ],
    },
    {
      title: 'Slowest tests',
      rows: r.slowestTests,
      empty: 'no timings',
      columns: [
        { header: 'case', value: (s) => short(s.caseId, 70) },
        { header: 'task', value: (s) => s.task },
        { header: 'runs', value: (s) => s.runs, right: true },
        { header: 'mean', value: (s) => secs(s.meanMs), right: true },
        { header: 'max', value: (s) => secs(s.maxMs), right: true },
      ],
    },
    {
      title: 'Error-prone configurations (share of tasks that did not pass)',
      rows: r.errorProneConfigurations,
      empty: 'none',
      columns: [
        { header: 'configuration', value: (c) => (c.dimension === 'label' ? `${c.key}=${c.value}` : `${c.dimension}: ${c.value}`) },
        { header: 'tasks', value: (c) => c.tasks, right: true },
        { header: 'not passed', value: (c) => c.notPassed, right: true },
        { header: 'rate', value: (c) => pct(c.rate), right: true },
        { header: 'others', value: (c) => pct(c.restRate), right: true },
        { header: 'z', value: (c) => c.z.toFixed(1), right: true },
        { header: 'out of line', value: (c) => (c.outOfLine ? 'YES' : '') },
      ],
    },
    {
      title: 'Dead letters and tasks that ended without a verdict',
      rows: r.deadLetters.slice(0, 20),
      empty: 'none',
      columns: [
        { header: 'workflow id', value: (d) => d.workflowId },
        { header: 'status', value: (d) => d.status },
        { header: 'category', value: (d) => d.category ?? '' },
        { header: 'host', value: (d) => d.host ?? '' },
        { header: 'ended', value: (d) => d.endedAt.replace('T', ' ').slice(0, 16) },
        { header: 'reason', value: (d) => short(d.reason, 60) },
      ],
    },
  ];
}

function topCats(byCategory: Record<string, number>): string {
  return Object.entries(byCategory)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([c, n]) => `${c.replace(/_ERROR$/, '')} ${n}`)
    .join(', ');
}

function headline(r: Report): string[] {
  const statuses = Object.entries(r.tasks.byStatus).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ');
  const rr = r.recoveryRate;
  return [
    `window: ${r.window.since ? `since ${r.window.since}` : 'everything stored'} until ${r.window.until}${r.window.batchId ? `, batch ${r.window.batchId}` : ''}${r.window.store ? ` (${r.window.store})` : ''}`,
    `tasks: ${r.tasks.total} (${statuses || 'none'}); pass rate ${pct(r.tasks.passRate)}; ${r.tasks.attempts} attempts; median ${secs(r.tasks.medianDurationMs)}, p95 ${secs(r.tasks.p95DurationMs)}`,
    `tests: ${r.tests.total} cases in ${r.tasks.withTests} task(s): ${r.tests.passed} passed, ${r.tests.failed} failed, ${r.tests.errored} errored, ${r.tests.skipped} skipped, ${r.tests.flaky} flaky, ${r.tests.quarantined} quarantined failures`,
    `recovery rate: ${pct(rr.rate)} (${rr.recovered} of ${rr.needed} tasks that hit an infrastructure error reached a verdict; bar > ${pct(rr.target)}: ${rr.meetsTarget ? 'met' : 'NOT met'})`,
    `dead letters: ${r.deadLetters.filter((d) => d.status === 'dead_lettered').length} waiting, ${r.deadLetters.length} without a verdict in all`,
  ];
}

export function renderText(r: Report): string {
  const lines: string[] = ['dtf report', '', ...headline(r), ''];
  lines.push(`RECOMMENDATIONS (${r.recommendations.length})`);
  if (!r.recommendations.length) lines.push('  none: nothing out of line');
  r.recommendations.forEach((rec, i) => {
    lines.push(`  ${i + 1}. ${rec.title}`);
    lines.push(`     evidence: ${rec.evidence}`);
  });
  for (const s of sections(r)) {
    lines.push('', s.title.toUpperCase());
    if (!s.rows.length) {
      lines.push(`  ${s.empty}`);
      continue;
    }
    const cells = s.rows.map((row) => s.columns.map((c) => String(c.value(row))));
    const widths = s.columns.map((c, i) => Math.max(c.header.length, ...cells.map((r2) => r2[i].length)));
    const fmt = (vals: string[]) => `  ${vals.map((v, i) => (s.columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ')}`.trimEnd();
    lines.push(fmt(s.columns.map((c) => c.header)));
    for (const row of cells) lines.push(fmt(row));
  }
  return `${lines.join('\n')}\n`;
}

const mdCell = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: Report): string {
  const out: string[] = ['## dtf report', '', ...headline(r).map((l) => `- ${l}`), '', `### Recommendations (${r.recommendations.length})`, ''];
  if (!r.recommendations.length) out.push('None: nothing out of line.');
  r.recommendations.forEach((rec, i) => out.push(`${i + 1}. **${mdCell(rec.title)}** — ${mdCell(rec.evidence)}`));
  for (const s of sections(r)) {
    out.push('', `### ${s.title}`, '');
    if (!s.rows.length) {
      out.push(`_${s.empty}_`);
      continue;
    }
    out.push(`| ${s.columns.map((c) => mdCell(c.header)).join(' | ')} |`);
    out.push(`|${s.columns.map((c) => (c.right ? '---:' : '---')).join('|')}|`);
    for (const row of s.rows) out.push(`| ${s.columns.map((c) => mdCell(c.value(row))).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const PALETTE = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#7f7f7f'];
const STATUS_COLOR: Record<string, string> = { passed: '#2ca02c', failed: '#d62728', dead_lettered: '#9467bd', error: '#8c564b', expired: '#7f7f7f', discarded: '#bcbd22', cancelled: '#aaaaaa' };

function bucketLabel(isoTime: string, bucketMs: number): string {
  return bucketMs >= 24 * 3_600_000 ? isoTime.slice(5, 10) : isoTime.slice(11, 16);
}

function outcomeBar(r: Report): string {
  const total = r.tasks.total || 1;
  let x = 0;
  const parts = Object.entries(r.tasks.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([s, n]) => {
      const w = (n / total) * 800;
      const rect = `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="28" fill="${STATUS_COLOR[s] ?? '#17becf'}"><title>${esc(s)}: ${n}</title></rect>`;
      const label = w > 70 ? `<text x="${(x + 6).toFixed(1)}" y="19" fill="#fff" font-size="13">${esc(s)} ${n}</text>` : '';
      x += w;
      return rect + label;
    });
  return `<svg role="img" aria-label="task outcomes" viewBox="0 0 800 28" width="800" height="28">${parts.join('')}</svg>`;
}

function trendChart(r: Report): string {
  const { buckets, series } = r.errorTrends;
  const W = 800;
  const H = 220;
  const left = 40;
  const bottom = 30;
  const n = Math.max(1, buckets.length);
  const totals = buckets.map((_, i) => series.reduce((s, x) => s + x.counts[i], 0));
  const max = Math.max(1, ...totals);
  const bw = (W - left - 10) / n;
  const y = (v: number) => (H - bottom) - (v / max) * (H - bottom - 10);
  const bars: string[] = [];
  buckets.forEach((b, i) => {
    let acc = 0;
    series.forEach((s, k) => {
      const v = s.counts[i];
      if (!v) return;
      const y0 = y(acc);
      const y1 = y(acc + v);
      bars.push(`<rect x="${(left + i * bw + 1).toFixed(1)}" y="${y1.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(y0 - y1).toFixed(1)}" fill="${PALETTE[k % PALETTE.length]}"><title>${esc(bucketLabel(b, r.window.bucketMs))} ${esc(s.category)}: ${v}</title></rect>`);
      acc += v;
    });
  });
  const step = Math.max(1, Math.ceil(n / 12));
  const labels = buckets
    .map((b, i) => (i % step === 0 ? `<text x="${(left + i * bw + bw / 2).toFixed(1)}" y="${H - 12}" font-size="11" text-anchor="middle" fill="#555">${esc(bucketLabel(b, r.window.bucketMs))}</text>` : ''))
    .join('');
  const axis = `<line x1="${left}" y1="${H - bottom}" x2="${W - 10}" y2="${H - bottom}" stroke="#999"/><text x="${left - 6}" y="${y(max) + 4}" font-size="11" text-anchor="end" fill="#555">${max}</text><text x="${left - 6}" y="${H - bottom + 4}" font-size="11" text-anchor="end" fill="#555">0</text>`;
  const legend = series
    .map((s, k) => `<span class="key"><i style="background:${PALETTE[k % PALETTE.length]}"></i>${esc(s.category)}</span>`)
    .join(' ');
  return `<svg role="img" aria-label="errors over time by category" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axis}${bars.join('')}${labels}</svg><div class="legend">${legend || 'no errors'}</div>`;
}

function heatmap(r: Report): string {
  const { hosts, buckets, attempts, failures } = r.hostHeatmap;
  if (!hosts.length) return '<p class="muted">no attempts</p>';
  const left = 90;
  const cellW = Math.max(6, Math.min(28, Math.floor((800 - left) / Math.max(1, buckets.length))));
  const cellH = 18;
  const H = hosts.length * cellH + 26;
  const W = left + buckets.length * cellW + 10;
  const cells: string[] = [];
  hosts.forEach((h, i) => {
    cells.push(`<text x="${left - 6}" y="${i * cellH + 13}" font-size="11" text-anchor="end" fill="#333">${esc(h)}</text>`);
    buckets.forEach((b, j) => {
      const n = attempts[i][j];
      const f = failures[i][j];
      const share = n ? f / n : 0;
      const fill = n === 0 ? '#f3f3f3' : heatColor(share);
      cells.push(`<rect x="${left + j * cellW}" y="${i * cellH}" width="${cellW - 1}" height="${cellH - 1}" fill="${fill}"><title>${esc(h)} ${esc(bucketLabel(b, r.window.bucketMs))}: ${f} of ${n} attempts failed on hardware or worker errors</title></rect>`);
    });
  });
  const step = Math.max(1, Math.ceil(buckets.length / 12));
  buckets.forEach((b, j) => {
    if (j % step === 0) cells.push(`<text x="${left + j * cellW + cellW / 2}" y="${hosts.length * cellH + 14}" font-size="10" text-anchor="middle" fill="#555">${esc(bucketLabel(b, r.window.bucketMs))}</text>`);
  });
  const scale = [0, 0.1, 0.25, 0.5, 1].map((s) => `<span class="key"><i style="background:${heatColor(s)}"></i>${Math.round(s * 100)}%</span>`).join(' ');
  return `<svg role="img" aria-label="failure share per host over time" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${cells.join('')}</svg><div class="legend">share of attempts that failed on hardware or worker errors (network and test failures aside): ${scale} <span class="key"><i style="background:#f3f3f3"></i>no attempts</span></div>`;
}

/** White-yellow-red for 0 → 1, saturating at 50 %. */
function heatColor(share: number): string {
  const s = Math.min(1, share / 0.5);
  const r = 255;
  const g = Math.round(245 - 200 * s);
  const b = Math.round(220 - 200 * s);
  return share === 0 ? '#e8f5e9' : `rgb(${r},${g},${b})`;
}

function historyStrip(history: string): string {
  const colors: Record<string, string> = { P: '#2ca02c', F: '#d62728', K: '#ff7f0e', S: '#bbbbbb' };
  return `<span class="hist" title="${esc(history)} (old → new)">${[...history.slice(-30)].map((c) => `<i style="background:${colors[c] ?? '#ccc'}"></i>`).join('')}</span>`;
}

function htmlTable(s: Section<any>): string {
  if (!s.rows.length) return `<p class="muted">${esc(s.empty)}</p>`;
  const head = s.columns.map((c) => `<th${c.right ? ' class="r"' : ''}>${esc(c.header)}</th>`).join('');
  const body = s.rows
    .map((row) => `<tr>${s.columns.map((c) => {
      const v = String(c.value(row));
      if (c.header.startsWith('history')) return `<td>${historyStrip(v)}</td>`;
      return `<td${c.right ? ' class="r"' : ''}>${esc(v)}</td>`;
    }).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderHtml(r: Report): string {
  // Flaky test histories need the full string, not the sliced text-table one.
  const secs_ = sections(r).map((s) => ({ ...s, columns: s.columns.map((c) => (c.header.startsWith('history') ? { ...c, value: (t: TestRow) => t.history } : c)) }));
  const recs = r.recommendations.length
    ? `<ol class="recs">${r.recommendations.map((x) => `<li><b>${esc(x.title)}</b><br><span>${esc(x.evidence)}</span></li>`).join('')}</ol>`
    : '<p class="muted">None: nothing out of line.</p>';
  const rr = r.recoveryRate;
  const tiles = [
    ['tasks', String(r.tasks.total)],
    ['pass rate', pct(r.tasks.passRate)],
    ['recovery rate', `${pct(rr.rate)}`, rr.meetsTarget ? 'ok' : 'bad'],
    ['flaky cases', String(r.tests.flaky)],
    ['dead letters', String(r.deadLetters.filter((d) => d.status === 'dead_lettered').length)],
    ['hosts out of line', String(r.outOfLine.hosts.length), r.outOfLine.hosts.length ? 'bad' : 'ok'],
  ]
    .map(([k, v, cls]) => `<div class="tile ${cls ?? ''}"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`)
    .join('');
  const body = [
    `<h1>dtf report</h1>`,
    `<p class="muted">${headline(r).slice(0, 1).map(esc).join('')} · generated ${esc(r.generatedAt)}</p>`,
    `<div class="tiles">${tiles}</div>`,
    `<h2>Outcomes</h2>${outcomeBar(r)}<p class="muted">${headline(r).slice(1).map(esc).join('<br>')}</p>`,
    `<h2>Errors over time, by category</h2>${trendChart(r)}`,
    `<h2>Per-host heatmap: hardware and worker failures over time</h2>${heatmap(r)}`,
    `<h2>Recommendations</h2>${recs}`,
    ...secs_.map((s) => `<h2>${esc(s.title)}</h2>${htmlTable(s)}`),
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dtf report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1040px;color:#222;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e5e5;padding-bottom:4px}
.muted{color:#666}.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0}
.tile{border:1px solid #ddd;border-radius:8px;padding:8px 14px;min-width:110px;background:#fafafa}.tile .v{font-size:22px;font-weight:600}.tile .k{color:#666;font-size:12px}
.tile.bad{border-color:#d62728;background:#fff3f3}.tile.ok .v{color:#1a7f37}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}th{background:#f6f6f6}.r{text-align:right}
.recs li{margin:6px 0}.recs span{color:#444}.legend{font-size:12px;color:#444;margin:4px 0}
.key{margin-right:10px;white-space:nowrap}.key i,.hist i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle}.hist i{width:6px;margin-right:1px}
svg{max-width:100%;height:auto;display:block}
</style></head><body>
${body}
<script type="application/json" id="dtf-report-data">${JSON.stringify({ tasks: r.tasks, recoveryRate: r.recoveryRate, recommendations: r.recommendations.length }).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}
