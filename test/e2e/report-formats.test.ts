import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd } from '../support/cli.js';

const CHROMIUM = '/usr/bin/chromium';

const dir = mkdtempSync(join(tmpdir(), 'lblab-report-'));
const record = JSON.parse(readFileSync(new URL('../fixtures/run-kill-detected.json', import.meta.url), 'utf8')) as RunRecord;
record.lab = {
  name: 'failover',
  title: 'Kill <b2> mid-run',
  passed: false,
  expectations: [
    { text: 'b2 marked down within 4s of its kill', expected: '≤ 4s', measured: '2.9s', pass: true },
    { text: 'errors after the kill ≤ 0.5%', expected: '≤ 0.5%', measured: '1.2%', pass: false },
  ],
};
const recordFile = join(dir, 'run.json');
writeFileSync(recordFile, JSON.stringify(record));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lblab report --markdown / --html', () => {
  it('prints Markdown on stdout', async () => {
    const r = await runCliToEnd(['report', recordFile, '--markdown']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# lblab start · weighted/);
    expect(r.stdout).toContain('| backend | wght | served |');
    expect(r.stdout).toContain('## Verdict: failover');
    expect(r.stdout).toContain('- ✗ **errors after the kill ≤ 0.5%**: expected ≤ 0.5%, measured 1.2%');
  });

  it('writes the HTML page and prints its path', async () => {
    const out = join(dir, 'report.html');
    const r = await runCliToEnd(['report', recordFile, '--html', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect(readFileSync(out, 'utf8')).toContain('data-chart="health"');
  });

  it.each([
    [['--json', '--markdown'], /^lblab: Expected `--markdown` not to be combined with `--json`/],
    [['--markdown', '--html', 'x.html'], /^lblab: Expected `--html` not to be combined with `--markdown`/],
    [['--html', join(dir, 'no-such-folder', 'r.html')], /^lblab: Expected `--html` to be a file in a writable folder/],
    [['--html', dir], /^lblab: Expected `--html` to be a file, got the folder/],
    [['--html', recordFile], /^lblab: Expected `--html` to be a file other than the run record/],
  ])('exits 2 naming the flag on %j', async (args, message) => {
    const r = await runCliToEnd(['report', recordFile, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the HTML report in a real headless Chromium', () => {
  let browser: Browser;
  const page = join(dir, 'browser.html');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test opens the HTML report in a real browser; install it with \`apt-get install -y chromium\` (Debian/Ubuntu)`);
    }
    const r = await runCliToEnd(['report', recordFile, '--html', page]);
    expect(r.code, r.stderr).toBe(0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the charts and tables, and asks the network for nothing but the page itself', async () => {
    const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    const problems: string[] = [];
    tab.on('request', (req) => requests.push(req.url()));
    tab.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    tab.on('pageerror', (err) => problems.push(err.message));
    const url = pathToFileURL(page).href;
    await tab.goto(url, { waitUntil: 'load' });

    const q = (sel: string) => tab.locator(sel);
    const box = async (sel: string): Promise<{ w: number; h: number }> => {
      const b = await q(sel).boundingBox();
      return { w: b?.width ?? 0, h: b?.height ?? 0 };
    };
    const perGroup = async (groups: string, inner: string, read: (l: ReturnType<typeof q>) => Promise<unknown>): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (const g of await q(groups).all()) out.push([await g.getAttribute('data-backend'), await read(g.locator(inner))]);
      return out;
    };
    const counts = {
      histogram: await q('svg[data-chart="latency-histogram"]').count(),
      bars: await q('svg[data-chart="latency-histogram"] rect.bar').count(),
      histogramBox: await box('svg[data-chart="latency-histogram"]'),
      rps: await q('svg[data-chart="rps"]').count(),
      series: await perGroup('svg[data-chart="rps"] g.series', 'rect.col', (l) => l.count()),
      rpsMarkers: await q('svg[data-chart="rps"] line.marker').count(),
      rpsBox: await box('svg[data-chart="rps"]'),
      strips: await perGroup('svg[data-chart="health"] g.strip', 'rect.seg', async (l) => Promise.all((await l.all()).map((r) => r.getAttribute('class')))),
      healthBox: await box('svg[data-chart="health"]'),
      backendRows: await q('#backends tbody tr td:first-child').allTextContents(),
      verdictRows: await q('#verdict tbody tr').allTextContents(),
      lastSection: await q('main > section').last().getAttribute('id'),
    };

    const buckets = record.totals.latencyBuckets.counts;
    const first = buckets.findIndex((n) => n > 0);
    const last = buckets.length - 1 - [...buckets].reverse().findIndex((n) => n > 0);
    expect(counts.histogram).toBe(1);
    expect(counts.bars).toBe(last - first + 1);
    expect(counts.rps).toBe(1);
    expect(counts.series).toEqual(record.backends.map((b) => [b.name, record.timeline.length]));
    expect(counts.rpsMarkers).toBe(2);
    expect(counts.strips).toEqual([
      ['b1', ['seg up']],
      ['b2', ['seg up', 'seg down']],
      ['b3', ['seg up']],
    ]);
    // laid out, not collapsed: the charts take the page's width
    for (const b of [counts.histogramBox, counts.rpsBox, counts.healthBox]) {
      expect(b.w).toBeGreaterThan(600);
      expect(b.h).toBeGreaterThan(50);
    }
    expect(counts.backendRows).toEqual(['b1', 'b2', 'b3']);
    expect(counts.verdictRows).toEqual(['✓b2 marked down within 4s of its kill≤ 4s2.9s', '✗errors after the kill ≤ 0.5%≤ 0.5%1.2%']);
    expect(counts.lastSection).toBe('verdict');
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
    await tab.close();
  });

  it('would see a request for anything the page tried to load (the check above can fail)', async () => {
    const tampered = join(dir, 'tampered.html');
    writeFileSync(tampered, readFileSync(page, 'utf8').replace('<main>', '<main><img src="http://127.0.0.1:9/pixel.png">'));
    const tab = await browser.newPage();
    const requests: string[] = [];
    tab.on('request', (req) => requests.push(req.url()));
    await tab.goto(pathToFileURL(tampered).href, { waitUntil: 'load' });
    expect(requests).toContain('http://127.0.0.1:9/pixel.png');
    await tab.close();
  });
});
