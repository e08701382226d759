import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { RunSnapshot } from '../../src/session/snapshot.js';
import { fitPanels } from '../../src/tui/dashboard.js';
import { RpsChart } from '../../src/tui/rps-chart.js';

/** The live req/s chart and how the dashboard's panels share a small screen (issue 16). */

const plain = (s: string): string => s.replace(/\u001B\[[0-9;]*m/g, '');

function snapshot(seconds: number): RunSnapshot {
  const backends = ['b1', 'b2', 'b3'].map((name, i) => ({ name, rps: i === 1 ? 0 : 500, process: i === 1 ? 'exited' : 'running', faults: [] as string[] }));
  return {
    backends,
    events: [
      { atMs: 3200, type: 'kill', target: 'b2', detail: '' },
      { atMs: 5400, type: 'down', target: 'b2', detail: '' },
    ],
    latency: { edgesMs: [5, 10, 20, 50], counts: [1, 10, 20, 2, 0], p50: 10, p90: 15, p99: 20, max: 40 },
    history: {
      fromS: 0,
      perBackend: [
        Array.from({ length: seconds }, (_, s) => (s < 3 ? 300 : 450)),
        Array.from({ length: seconds }, (_, s) => (s < 3 ? 300 : 0)),
        Array.from({ length: seconds }, () => 300),
      ],
    },
  } as unknown as RunSnapshot;
}

describe('RpsChart', () => {
  it('draws one line per backend on one scale, the killed one on the floor, and marks the kill and the DOWN in their seconds', async () => {
    const { lastFrame } = render(<RpsChart snapshot={snapshot(8)} width={100} />);
    await new Promise((r) => setTimeout(r, 20));
    const lines = plain(lastFrame() ?? '').split('\n');
    expect(lines[0]).toMatch(/^req\/s per backend, a cell a second from \+0s/);
    expect(lines[1]).toMatch(/^b1 +▆▆▆█████ +500\/s$/);
    expect(lines[2]).toMatch(/^b2 +▆▆▆····· +0\.0\/s$/);
    expect(lines[3]).toMatch(/^b3 +▆▆▆▆▆▆▆▆ +500\/s$/);
    expect(lines[4]).toBe('events    k ▼');
  });

  it('keeps the last seconds that fit its width', async () => {
    const { lastFrame } = render(<RpsChart snapshot={snapshot(90)} width={40} />);
    await new Promise((r) => setTimeout(r, 20));
    const b1 = plain(lastFrame() ?? '').split('\n')[1]!;
    expect([...b1].length).toBeLessThanOrEqual(40);
    expect(b1).toMatch(/█{20,}/);
  });
});

describe('fitPanels', () => {
  it('shows the chart when it fits with the histogram and the events, folds it first on a small screen, and shows it when asked', () => {
    const s = snapshot(10);
    expect(fitPanels(s, { columns: 100, rows: 30 })).toEqual({ chart: true, latencyFolded: false, events: 6 });
    expect(fitPanels(s, { columns: 80, rows: 24 })).toMatchObject({ chart: false, latencyFolded: false });
    expect(fitPanels(s, { columns: 80, rows: 24 }, 'on')).toMatchObject({ chart: true, latencyFolded: true });
    expect(fitPanels(s, { columns: 160, rows: 48 }, 'off')).toMatchObject({ chart: false, latencyFolded: false });
  });
});
