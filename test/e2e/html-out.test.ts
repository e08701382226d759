import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import type { Comparison } from '../../src/report/comparison.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

/**
 * `--html FILE` on `start`, `compare` and `lab run` (issue 16): the report
 * as one HTML page, written after the result is printed; a comparison (or
 * a lab of several runs) as one page with the table and every run's report,
 * opened in a real headless Chromium.
 */

const CHROMIUM = '/usr/bin/chromium';
const tags = tagsAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'lblab-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines of `text` wider than `width` columns as a terminal shows them (ANSI stripped, string-width). */
const tooWide = (text: string, width: number): string[] => text.split('\n').filter((l) => stringWidth(stripVTControlCharacters(l)) > width);

describe('--html on start and lab run', () => {
  it('start writes the HTML report beside the record it prints, and says where', async () => {
    const page = join(dir, 'run.html');
    const out = join(dir, 'run.json');
    const r = await runCliToEnd(['start', '--backends', '2', '--headless', '--duration', '2s', '--json', '--out', out, '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(record);
    const html = readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`${record.totals.requests}`);
    expect(html).toMatch(/<svg/);
    expect(r.stderr).toContain(`lblab: HTML report written to ${page}`);
  });

  it('lab run of one run writes its page with the verdict; a bad path is refused before anything runs', async () => {
    const page = join(dir, 'lab.html');
    const r = await runCliToEnd(['lab', 'run', 'round-robin', '--headless', '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(page, 'utf8')).toMatch(/round-robin/);
    for (const [args, message] of [
      [['lab', 'run', 'weighted', '--headless', '--html', join(dir, 'w.html'), '--out', join(dir, 'w.html')], /two files, got the same one twice/],
      [['compare', '--duration', '1s', '--html', join(dir, 'nowhere', 'c.html')], /`--html` to be a file in a writable folder/],
      [['start', '--headless', '--html', join(dir, 'missing', 'x.html')], /`--html` to be a file in a writable folder/],
      [['start', '--headless', '--html', join(dir, 'same.json'), '--out', join(dir, 'same.json')], /two files, got the same one twice/],
    ] as const) {
      const bad = await runCliToEnd([...args]);
      tags.push(bad.tag);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'w.html'))).toBe(false);
  });
});

describe('--html on compare and on a lab of several runs, in a real headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test opens the HTML page in a real browser; install it with \`apt-get install -y chromium\` (Debian/Ubuntu)`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** What the page at `file` shows: the comparison table's head and rows, each run's title and charts, the last section, and what it asked the network for. */
  async function readPage(file: string) {
    const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    tab.on('request', (req) => requests.push(req.url()));
    const url = pathToFileURL(file).href;
    await tab.goto(url, { waitUntil: 'load' });
    const runs = [];
    for (const run of await tab.locator('main > section.run').all()) {
      runs.push({
        id: await run.getAttribute('id'),
        title: await run.locator('h2.run-title').textContent(),
        charts: await Promise.all((await run.locator('svg.chart').all()).map((svg) => svg.getAttribute('data-chart'))),
        rpsWidth: (await run.locator('svg[data-chart="rps"]').boundingBox())?.width ?? 0,
        backendRows: await run.locator('section[id$="-backends"] tbody tr td:first-child').allTextContents(),
      });
    }
    const seen = {
      head: await tab.locator('#comparison thead th').allTextContents(),
      rowLabels: await tab.locator('#comparison tbody tr td:first-child').allTextContents(),
      links: await Promise.all((await tab.locator('#comparison ul.runs a').all()).map((a) => a.getAttribute('href'))),
      runs,
      ids: await Promise.all((await tab.locator('[id]').all()).map((e) => e.getAttribute('id'))),
      lastSection: await tab.locator('main > section').last().getAttribute('id'),
      verdictRows: await tab.locator('#verdict tbody tr').count(),
      requests,
      url,
    };
    await tab.close();
    return seen;
  }

  it('lab run weighted (two runs): prints within 100 columns, then writes one page with the comparison, both runs and the verdict', async () => {
    const page = join(dir, 'weighted.html');
    const out = join(dir, 'weighted.json');
    const r = await runCliToEnd(['lab', 'run', 'weighted', '--headless', '--out', out, '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    // stdout is a pipe, not a TTY: the report is drawn at 100 columns
    expect(tooWide(r.stdout, 100)).toEqual([]);
    expect(r.stdout).toMatch(/Lab weighted · .* · PASSED/);
    expect(r.stderr).toContain(`lblab: HTML report written to ${page}`);
    const cmp = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
    const seen = await readPage(page);
    // A lab's columns are its runs, by name (both runs here are weighted).
    expect(seen.head).toEqual(['', ...cmp.results.map((x) => x.name)]);
    expect(seen.head).toEqual(['', 'w2-1-1', 'w3-2-1']);
    expect(seen.rowLabels.slice(0, 5)).toEqual(['req/s', 'p50', 'p90', 'p99', 'max']);
    expect(seen.links).toEqual(['#run-1', '#run-2']);
    expect(seen.runs.map((x) => x.title)).toEqual(['Run 1/2: w2-1-1', 'Run 2/2: w3-2-1']);
    for (const [i, run] of seen.runs.entries()) {
      expect(run.id).toBe(`run-${i + 1}`);
      expect(run.charts).toEqual(expect.arrayContaining(['latency-histogram', 'rps', 'health']));
      expect(run.rpsWidth).toBeGreaterThan(600);
      expect(run.backendRows).toEqual(cmp.results[i]!.record.backends.map((b) => b.name));
    }
    // one page, many runs: no id twice
    expect(new Set(seen.ids).size).toBe(seen.ids.length);
    expect(seen.lastSection).toBe('verdict');
    expect(seen.verdictRows).toBe(cmp.results[0]!.record.lab!.expectations.length);
    expect(seen.requests).toEqual([seen.url]);
  });

  it('compare --html writes the comparison page after printing the JSON', async () => {
    const page = join(dir, 'compare.html');
    const r = await runCliToEnd(['compare', '--algos', 'round-robin,least-conn', '--backends', '2', '--concurrency', '4', '--duration', '2s', '--json', '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const cmp = JSON.parse(r.stdout) as Comparison;
    expect(r.stderr).toContain(`lblab: HTML report written to ${page}`);
    const seen = await readPage(page);
    expect(seen.head).toEqual(['', 'round-robin', 'least-conn']);
    expect(seen.rowLabels).toEqual(expect.arrayContaining(['b1 share/exp', 'b2 share/exp']));
    expect(seen.runs.map((x) => x.title)).toEqual(['Run 1/2: round-robin', 'Run 2/2: least-conn']);
    expect(seen.runs.map((x) => x.backendRows)).toEqual([['b1', 'b2'], ['b1', 'b2']]);
    expect(seen.requests).toEqual([seen.url]);
    expect(cmp.results).toHaveLength(2);
  });
});
