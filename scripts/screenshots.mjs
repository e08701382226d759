#!/usr/bin/env node
// Makes the README's pictures from one real run: docs/dashboard.png (the
// live dashboard of `lblab start` in a tmux terminal, captured with its
// colours mid-run, after a kill and a restart) and docs/report.png (the
// HTML report the same run wrote with --html: its top, then its req/s and
// health charts). Each is rendered in a
// real headless Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM).
// Needs tmux and a built dist/ (`npm run screenshots` builds first). Not part
// of `npm test`: the pictures are committed, run this again when the
// dashboard or the report changes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Convert from 'ansi-to-html';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const COLS = 100;
const ROWS = 30;
/** The run: 24 s of weighted round robin, b2 killed at 6 s and restarted at 13 s; captured at about 19 s. */
const RUN_ARGS = ['start', '--backends', '3', '--algo', 'weighted', '--concurrency', '16', '--duration', '24s', '--event', '6s kill b2', '--event', '13s restart b2'];
const CAPTURE_AT_S = 19;
const MAX_PNG_BYTES = 300 * 1024;

for (const [what, ok] of [
  [`${CHROMIUM} (set $CHROMIUM)`, existsSync(CHROMIUM)],
  ['tmux', (() => { try { execFileSync('tmux', ['-V']); return true; } catch { return false; } })()],
  ['dist/ (npm run build)', existsSync(join(ROOT, 'dist', 'cli', 'main.js'))],
]) {
  if (!ok) {
    console.error(`screenshots: ${what} is missing`);
    process.exit(1);
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'lblab-shots-'));
const session = `lblab-shots-${process.pid}`;
const reportHtml = join(tmp, 'report.html');
const tmux = (...args) => execFileSync('tmux', args, { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The browser's one context (a persistent context on a fresh profile). */
let browser;
try {
  // A real terminal of COLS×ROWS; the run writes its HTML report when it ends, then the shell waits to be closed.
  const cmd = [process.execPath, join(ROOT, 'bin', 'lblab.js'), ...RUN_ARGS, '--html', reportHtml].map(quote).join(' ');
  tmux('new-session', '-d', '-s', session, '-x', String(COLS), '-y', String(ROWS), `${cmd}; echo lblab-shots-done; sleep 600`);
  const screen = await waitForScreen((text) => {
    const m = /elapsed (\d+(?:\.\d+)?)s/.exec(text);
    return m !== null && Number(m[1]) >= CAPTURE_AT_S;
  }, 40_000);
  const ansi = tmux('capture-pane', '-t', session, '-e', '-p');
  if (!/restart\s+b2/.test(screen)) console.error('screenshots: warning: the event log does not show the restart of b2');
  await waitForScreen((text) => text.includes('lblab-shots-done'), 30_000);
  if (!existsSync(reportHtml)) throw new Error(`the run wrote no ${reportHtml}`);

  // A fresh profile each time (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  const terminalPage = join(tmp, 'dashboard.html');
  writeFileSync(terminalPage, terminalHtml(ansi));
  const tab = await browser.newPage();
  await tab.goto(pathToFileURL(terminalPage).href, { waitUntil: 'load' });
  await tab.locator('pre').screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });

  // The report's top (title, totals, backends table) and its two time charts (req/s per backend, health),
  // each a clip of the real page, stacked into one picture.
  const report = await browser.newPage();
  await report.setViewportSize({ width: 1000, height: 900 });
  await report.goto(pathToFileURL(reportHtml).href, { waitUntil: 'load' });
  const box = async (sel) => {
    const b = await report.locator(sel).boundingBox();
    if (!b) throw new Error(`the report has no ${sel}`);
    return b;
  };
  const clip = async (fromSel, toSel) => {
    const from = await box(fromSel);
    const to = await box(toSel);
    return report.screenshot({ fullPage: true, clip: { x: 0, y: Math.max(0, from.y - 8), width: 1000, height: to.y + to.height - from.y + 16 } });
  };
  const top = await clip('header', '#backends');
  const charts = await clip('#traffic', '#health');
  const stacked = join(tmp, 'report-shot.html');
  const img = (png) => `<img src="data:image/png;base64,${png.toString('base64')}">`;
  writeFileSync(stacked, `<!doctype html><html><head><style>body{margin:0;background:#fff}img{display:block}</style></head><body><div id="s">${img(top)}${img(charts)}</div></body></html>`);
  const sheet = await browser.newPage();
  await sheet.setViewportSize({ width: 1000, height: 900 });
  await sheet.goto(pathToFileURL(stacked).href, { waitUntil: 'load' });
  await sheet.locator('#s').screenshot({ path: join(ROOT, 'docs', 'report.png') });

  for (const name of ['dashboard.png', 'report.png']) {
    const bytes = statSync(join(ROOT, 'docs', name)).size;
    console.log(`docs/${name}: ${Math.round(bytes / 1024)} KB`);
    if (bytes > MAX_PNG_BYTES) throw new Error(`docs/${name} is ${Math.round(bytes / 1024)} KB, over ${MAX_PNG_BYTES / 1024} KB`);
  }
} finally {
  await browser?.close();
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // Already gone.
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** Polls the tmux pane (plain text) every 200 ms until `done(text)`; returns that text. */
async function waitForScreen(done, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = tmux('capture-pane', '-t', session, '-p');
    if (done(text)) return text;
    if (Date.now() > until) throw new Error(`timed out waiting on the terminal; it shows:\n${text}`);
    await sleep(200);
  }
}

/** A page showing `ansi` (a tmux capture with its SGR colours) as a dark terminal, in DejaVu Sans Mono. */
function terminalHtml(ansi) {
  const convert = new Convert({ fg: '#d4d4d4', bg: '#1e1e1e', escapeXML: true, newline: false });
  const lines = ansi.replace(/\n+$/, '').split('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #1e1e1e; }
pre { display: inline-block; margin: 0; padding: 14px 18px; background: #1e1e1e; color: #d4d4d4;
  font: 14px/1.25 'DejaVu Sans Mono', monospace; white-space: pre; }
</style></head><body><pre>${lines.map((l) => convert.toHtml(l)).join('\n')}</pre></body></html>`;
}
