import { readFileSync } from 'node:fs';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { renderReport } from '../../src/report/render-report.js';
import type { BackendSnapshot } from '../../src/session/snapshot.js';
import { BackendTable } from '../../src/tui/backend-table.js';

/** The views of a tcp run: the report's connections section and the dashboard's connection columns. */

const base = JSON.parse(readFileSync(new URL('../fixtures/run-weighted-kill.json', import.meta.url), 'utf8')) as RunRecord;

/** The fixture turned into a 2-connection tcp run over its three backends, round robin. */
function tcpRecord(): RunRecord {
  const conns = [
    { total: 1, active: 0, bytesIn: 25_000, bytesOut: 76_800, connectErrors: 0 },
    { total: 1, active: 0, bytesIn: 24_000, bytesOut: 74_000, connectErrors: 2 },
    { total: 0, active: 0, bytesIn: 0, bytesOut: 0, connectErrors: 0 },
  ];
  const shares = [0.51, 0.49, 0];
  return {
    ...base,
    config: { ...base.config, mode: 'tcp', algo: 'round-robin', weights: [1, 1, 1] },
    backends: base.backends.map((b, i) => ({ ...b, weight: 1, expectedShare: 1 / 3, share: shares[i]!, connections: conns[i]! })),
  };
}

function backend(name: string, share: number, connections: BackendSnapshot['connections']): BackendSnapshot {
  return {
    name, port: 43101, pid: 4001, process: 'running', weight: 1, state: 'up', removed: false, draining: false, backup: false,
    effectiveWeight: 1, ejectedForMs: null, breaker: null, reportedLoad: null, checkCounter: '3/3', lastCheck: 'L4OK', faults: [],
    inFlight: 0, rps: 80, requests: 400, share, expectedShare: 1 / 3, p50Ms: 12, p99Ms: 30, errors: 0,
    ...(connections ? { connections } : {}),
  };
}

describe('tcp run views', () => {
  it('the report heads with tcp and lists connections, their share, the request share and bytes per backend, and says why they differ', () => {
    const text = renderReport(tcpRecord(), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^lblab start · tcp \(L4\) · round-robin/);
    const at = lines.findIndex((l) => l.startsWith('Connections'));
    expect(lines[at]).toContain('2 in all');
    expect(lines[at + 1]).toMatch(/^backend\s+conns\s+conn share\/exp\s+req share\s+open\s+bytes in\s+bytes out\s+conn err$/);
    expect(lines[at + 2]).toMatch(/^b1\s+1\s+50\.0%\/33\.3%\s+51\.0%\s+0\s+24\.4KiB\s+75\.0KiB\s+0$/);
    expect(lines[at + 3]).toMatch(/^b2\s+1\s+50\.0%\/33\.3%\s+49\.0%\s+0\s+23\.4KiB\s+72\.3KiB\s+2$/);
    expect(lines[at + 4]).toMatch(/^b3\s+0\s+0\.0%\/33\.3%\s+0\.0%\s+0\s+0B\s+0B\s+0$/);
    // Columns as wide as their contents (it once padded every column to the widest, 119 columns in all).
    expect(lines[at + 1]).toBe('backend  conns  conn share/exp  req share  open  bytes in  bytes out  conn err');
    expect(text).toContain('a keep-alive connection stays on the backend it was given');
  });

  it('an HTTP run has no connections section', () => {
    expect(renderReport(base, { color: false })).not.toContain('Connections (L4');
  });

  it('the dashboard table counts connections in tcp mode: conn, conn/s, connection share, and req% beside it', () => {
    const c = (active: number, share: number) => ({ active, rate: 0, total: active, share, bytesIn: 1, bytesOut: 1, connectErrors: 0 });
    const { lastFrame, unmount } = render(
      <BackendTable backends={[backend('b1', 0.6, c(1, 0.5)), backend('b2', 0.4, c(1, 0.5)), backend('b3', 0, c(0, 0))]} selected={0} />,
    );
    const frame = lastFrame()!;
    unmount();
    const [head, b1, , b3] = frame.split('\n');
    expect(head).toMatch(/conn conn\/s conn share \/ expected\s+req%/);
    expect(b1).toMatch(/ 1 +0\.0 \S+ 50\.0% \/ 33\.3% 60\.0% /);
    expect(b3).toMatch(/ 0 +0\.0 \S+ +0\.0% \/ 33\.3% +0\.0% /);
  });

  it('the dashboard table is unchanged in http mode', () => {
    const { lastFrame, unmount } = render(<BackendTable backends={[backend('b1', 0.6, undefined)]} selected={0} />);
    const frame = lastFrame()!;
    unmount();
    expect(frame.split('\n')[0]).toMatch(/infl req\/s share \/ expected/);
    expect(frame).not.toContain('req%');
  });
});
