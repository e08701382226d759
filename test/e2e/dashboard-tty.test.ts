import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BIN, waitForNoProcesses } from '../support/cli.js';

/**
 * The dashboard in a real terminal: tmux runs `lblab start`, keys are sent
 * with send-keys and the screen is read with capture-pane, as a person would.
 * .ci/run installs tmux when it is missing.
 */

const socket = `lblab-test-${process.pid}`;
const session = 'dash';
const tag = `tty-${process.pid}-${Date.now()}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function screen(name = session, visible = false): string {
  return visible ? tmux('capture-pane', '-p', '-t', name) : tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', name);
}

/** Reads the screen of tmux session `name` (with its scrollback, or the `visible` pane alone) every `interval` ms until `test` holds (vi.waitFor); rejects after `timeout` ms naming `what`, with the last screen. */
async function waitForScreen(
  test: (s: string) => boolean,
  what: string,
  { timeout = 20_000, interval = 150, name = session, visible = false }: { timeout?: number; interval?: number; name?: string; visible?: boolean } = {},
): Promise<string> {
  return vi.waitFor(
    () => {
      const s = screen(name, visible);
      if (!test(s)) throw new Error(`timed out waiting for ${what}; screen was:\n${s}`);
      return s;
    },
    { timeout, interval },
  );
}

/** The dashboard's row for `name` (the table rows start with the selection marker column). */
function row(s: string, name: string): string | undefined {
  return s.split('\n').find((l) => new RegExp(`^[ ›] ${name} +\\d+ `).test(l));
}

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  await waitForNoProcesses(tag);
});

describe('dashboard in a real terminal (tmux)', () => {
  it('shows three backends, k kills the selected one and it goes DOWN, q prints the report', async () => {
    try {
      execFileSync('tmux', ['-V']);
    } catch {
      throw new Error('this test needs tmux (apt-get install -y tmux); .ci/run installs it');
    }
    const command = [
      `env -u CI -u CONTINUOUS_INTEGRATION LBLAB_TEST_TAG=${tag} NO_COLOR=1`,
      `${process.execPath} ${BIN} start --backends 3 --algo weighted --concurrency 4 --health-interval 300ms`,
      // The pane stays open after lblab exits (sleep) so that its report can still be read.
      `; echo LBLAB_EXIT=$?; sleep 120`,
    ].join(' ');
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '50', command);

    const first = await waitForScreen((s) => ['b1', 'b2', 'b3'].every((n) => /UP/.test(row(s, n) ?? '')), 'three UP backends');
    expect(first).toMatch(/weighted/);
    expect(row(first, 'b1')).toMatch(/50\.0%/);
    expect(row(first, 'b2')).toMatch(/33\.3%/);
    expect(row(first, 'b3')).toMatch(/16\.7%/);

    tmux('send-keys', '-t', session, '2');
    await waitForScreen((s) => row(s, 'b2')?.startsWith('›') ?? false, 'b2 selected');
    tmux('send-keys', '-t', session, 'k');
    const down = await waitForScreen((s) => /DOWN/.test(row(s, 'b2') ?? ''), 'b2 DOWN');
    expect(row(down, 'b2')).toMatch(/exited/);
    expect(down).toMatch(/kill\s+b2/);
    expect(down).toMatch(/down\s+b2\s+3 failed checks/);
    expect(row(down, 'b1')).toMatch(/UP/);

    tmux('send-keys', '-t', session, 'q');
    const report = await waitForScreen((s) => /LBLAB_EXIT=\d+/.test(s), 'lblab to exit');
    expect(report).toMatch(/LBLAB_EXIT=0/);
    expect(report).toMatch(/lblab start · weighted \(weights 3,2,1\)/);
    expect(report).toMatch(/^b2\s+2\s+\d+\s+.*DOWN/m);
    expect(await waitForNoProcesses(tag)).toEqual([]);
  });

  it('fits 80×24, 100×30 and 160×48: name, state, share, req/s, p99 and errors on every row, nothing cut, the key line within the width; it redraws on resize', async () => {
    const sizes = [
      [80, 24],
      [100, 30],
      [160, 48],
    ] as const;
    /** The screen's lines as drawn (tmux pads nothing: trailing spaces are not part of them). */
    const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd());
    const check = (s: string, columns: number, rows: number): void => {
      const drawn = lines(s);
      // Nothing past the width or the height (ink redraws the whole screen once its output reaches the height).
      for (const l of drawn) expect([...l].length, l).toBeLessThanOrEqual(columns);
      expect(drawn.filter((l) => l !== '').length).toBeLessThan(rows);
      const head = drawn.find((l) => /^\s+name /.test(l))!;
      for (const column of ['name', 'state', 'req/s', 'share', 'p99', 'err']) expect(head, `${columns}×${rows}`).toContain(column);
      for (const name of ['b1', 'b2', 'b3']) {
        const r = drawn.find((l) => new RegExp(`^[ ›] ${name} `).test(l));
        // Every row ends in p99 and its error count, whole: nothing cut mid-number, no ellipsis.
        expect(r, `${name} at ${columns}×${rows}:\n${s}`).toMatch(/(UP|DOWN) .*\d+(\.\d)?% \/ +\d+\.\d% .*\d(\.\d)?(ms|s) +\d+$/);
        expect(r).not.toContain('…');
      }
      const keys = drawn.filter((l) => /(^|\s)q quit|faults:|c recover/.test(l));
      expect(keys.length, s).toBeGreaterThan(0);
    };
    for (const [columns, rows] of sizes) {
      const name = `fit${columns}`;
      const command = `env -u CI -u CONTINUOUS_INTEGRATION LBLAB_TEST_TAG=${tag} NO_COLOR=1 ${process.execPath} ${BIN} start --backends 3 --algo weighted --concurrency 4 --duration 60s; sleep 120`;
      tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), command);
      const s = await waitForScreen((x) => /^[ ›] b3 .*\d$/m.test(x) && /L7OK/.test(x) || /^[ ›] b3 .*UP .*\d$/m.test(x), `the dashboard at ${columns}×${rows}`, { name, visible: true });
      check(s, columns, rows);
      if (columns === 80) {
        // No room for the live chart at 80×24 beside the histogram; t shows it anyway, folding the histogram.
        expect(s).not.toMatch(/req\/s per backend/);
        tmux('send-keys', '-t', name, 't');
        const withChart = await waitForScreen((x) => /req\/s per backend/.test(x) && /^b1 +[▁▂▃▄▅▆▇█·]+ +[\d.]+\/s$/m.test(x), 'the chart after t', { name, visible: true });
        check(withChart, columns, rows);
        expect(withChart).not.toMatch(/≤\d+ms/);
      }
      if (columns === 160) {
        const withChart = await waitForScreen((x) => /^b3 +[▁▂▃▄▅▆▇█·]{2,} +[\d.]+\/s$/m.test(x), 'the live chart', { name, visible: true });
        check(withChart, columns, rows);
        expect(withChart).toMatch(/≤\d+ms/);
        // Made narrow while running: it redraws to fit, columns go, the ones that matter stay.
        tmux('resize-window', '-t', name, '-x', '80', '-y', '24');
        const narrow = await waitForScreen((x) => !/^\s+name port /m.test(x) && /^\s+name /m.test(x), 'a redraw at 80×24', { name, visible: true });
        check(narrow, 80, 24);
      }
      tmux('send-keys', '-t', name, 'q');
    }
  });

  it('with stdin not a terminal (< /dev/null) it runs headless instead of failing to draw', async () => {
    const name = 'nostdin';
    const command = `env -u CI -u CONTINUOUS_INTEGRATION LBLAB_TEST_TAG=${tag} NO_COLOR=1 ${process.execPath} ${BIN} start --backends 2 --duration 3s --concurrency 2 < /dev/null; echo LBLAB_EXIT=$?; sleep 120`;
    tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '50', command);
    const s = await waitForScreen((s) => /LBLAB_EXIT=\d+/.test(s), 'lblab to exit', { interval: 200, name });
    expect(s).toMatch(/LBLAB_EXIT=0/);
    expect(s).toMatch(/\+\d+\.\ds .*req\/s .*b1 UP/);
    expect(s).not.toMatch(/Raw mode is not supported/);
    expect(s).toMatch(/lblab start · round-robin/);
  });
});
