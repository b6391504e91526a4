/** The HTML report opened in a real headless browser (Debian's chromium), not only checked as a string. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedRecords } from '../../bench/seed-results';
import { generateReport } from '../../src/cli/report';
import { openResultsStore } from '../../src/results/store';

const CHROMIUM = '/usr/bin/chromium';
const NOW = Date.parse('2026-11-30T12:00:00Z');
const available = fs.existsSync(CHROMIUM);
if (!available) console.log(`skipping the headless-browser report test: ${CHROMIUM} is absent (Debian: apt-get install chromium)`);

function chromium(args: string[], cwd: string) {
  return spawnSync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${path.join(cwd, 'profile')}`, ...args],
    { cwd, encoding: 'utf8', timeout: 90_000 },
  );
}

(available ? describe : describe.skip)('the HTML report in headless chromium', () => {
  let dir: string;
  let html: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtf-html-'));
    const db = `sqlite:${path.join(dir, 'r.db')}`;
    const store = await openResultsStore(db);
    for (const r of seedRecords(600, { now: NOW })) await store.writeTask(r);
    await store.close();
    html = path.join(dir, 'report.html');
    await generateReport({ db, since: '24h', format: 'html', out: html, now: NOW });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('renders the charts: the DOM after load has the trend chart, the heatmap and the recommendations', () => {
    const run = chromium(['--dump-dom', `file://${html}`], dir);
    expect(run.status).toBe(0);
    const dom = run.stdout;
    expect(dom).toContain('<title>dtf report</title>');
    expect((dom.match(/aria-label="errors over time by category"/g) ?? []).length).toBe(1);
    expect((dom.match(/aria-label="failure share per host over time"/g) ?? []).length).toBe(1);
    // one heatmap cell per host and bucket: 12 hosts × 24+ hourly buckets
    expect((dom.match(/attempts failed on hardware or worker errors<\/title>/g) ?? []).length).toBeGreaterThanOrEqual(12 * 24);
    expect(dom).toContain('Quarantine host gpu-07');
  });

  it('takes a screenshot that is not blank', () => {
    const png = path.join(dir, 'shot.png');
    const run = chromium(['--window-size=1100,1600', `--screenshot=${png}`, `file://${html}`], dir);
    expect(run.status).toBe(0);
    const buf = fs.readFileSync(png);
    expect(buf.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([buf.readUInt32BE(16), buf.readUInt32BE(20)]).toEqual([1100, 1600]); // IHDR width, height
    expect(buf.length).toBeGreaterThan(40_000); // charts and text; a blank page is a few KB
  });
});
