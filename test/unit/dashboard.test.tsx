import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FaultName } from '../../src/backend/faults.js';
import type { BackendSnapshot, RunControls, RunSnapshot } from '../../src/session/snapshot.js';
import { Dashboard } from '../../src/tui/dashboard.js';

const DOWN_KEY = '\u001B[B';
const UP_KEY = '\u001B[A';

function backend(over: Partial<BackendSnapshot> & Pick<BackendSnapshot, 'name' | 'port'>): BackendSnapshot {
  return {
    pid: 40000 + over.port - 43000,
    process: 'running',
    weight: 1,
    state: 'up',
    removed: false,
    draining: false,
    backup: false,
    effectiveWeight: over.weight ?? 1,
    ejectedForMs: null,
    breaker: null,
    reportedLoad: null,
    checkCounter: '3/3',
    lastCheck: 'L7OK',
    faults: [],
    inFlight: 2,
    rps: 120.5,
    requests: 1200,
    share: 0.33,
    expectedShare: 1 / 3,
    p50Ms: 1.2,
    p99Ms: 8.4,
    errors: 0,
    ...over,
  };
}

function fakeSnapshot(): RunSnapshot {
  return {
    algo: 'swrr',
    listen: 'http://127.0.0.1:43100/',
    elapsedMs: 12_300,
    periodStartMs: 0,
    durationMs: 30_000,
    rps: 2410,
    concurrency: 16,
    paused: false,
    requests: 29_640,
    errors: 12,
    errorRate: 0.004,
    backends: [
      backend({ name: 'b1', port: 43101, weight: 3, share: 0.612, expectedShare: 0.5, rps: 1480, inFlight: 10 }),
      backend({
        name: 'b2',
        port: 43102,
        weight: 2,
        pid: null,
        process: 'exited',
        state: 'down',
        checkCounter: '0/2',
        lastCheck: 'L4CON',
        share: 0.21,
        expectedShare: 1 / 3,
        rps: 0,
        inFlight: 0,
        errors: 12,
      }),
      backend({ name: 'b3', port: 43103, weight: 1, share: 0.178, expectedShare: 1 / 6, rps: 430, faults: ['slow ×10'], p99Ms: 84.2 }),
    ],
    latency: {
      edgesMs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      counts: [0, 8200, 15000, 4100, 1200, 900, 240, 0, 0, 0, 0, 0],
      p50: 2.4,
      p90: 7.9,
      p99: 61.3,
      max: 98.2,
    },
    events: [
      { atMs: 1_000, type: 'started', target: 'b1', detail: 'pid 40101 listening on 43101' },
      { atMs: 4_200, type: 'slow', target: 'b3', detail: 'service time ×10' },
      { atMs: 9_800, type: 'kill', target: 'b2', detail: 'SIGKILL pid 40102 (user)' },
      { atMs: 10_900, type: 'down', target: 'b2', detail: 'L4CON 2/2 failed' },
      { atMs: 11_500, type: 'concurrency', detail: '16 workers' },
    ],
  };
}

function fakeControls(snapshot: RunSnapshot = fakeSnapshot()) {
  // One spy per fault, so a test can ask which fault a key toggled.
  const faultToggles = {
    toggleSlow: vi.fn<(backend: string) => void>(),
    toggleErrors: vi.fn<(backend: string) => void>(),
    toggleHealthFail: vi.fn<(backend: string) => void>(),
    toggleHang: vi.fn<(backend: string) => void>(),
    toggleReset: vi.fn<(backend: string) => void>(),
    toggleDegrade: vi.fn<(backend: string) => void>(),
  };
  const byFault: Record<FaultName, (backend: string) => void> = {
    slow: faultToggles.toggleSlow,
    errors: faultToggles.toggleErrors,
    'health-fail': faultToggles.toggleHealthFail,
    hang: faultToggles.toggleHang,
    reset: faultToggles.toggleReset,
    degrade: faultToggles.toggleDegrade,
  };
  const controls = {
    snapshot: vi.fn(() => snapshot),
    kill: vi.fn<(backend: string) => void>(),
    restart: vi.fn<(backend: string) => void>(),
    toggleFault: vi.fn((fault: FaultName, backend: string) => byFault[fault](backend)),
    recover: vi.fn<(backend: string) => void>(),
    setConcurrency: vi.fn<(value: number) => void>(),
    togglePause: vi.fn<() => void>(),
    cycleAlgorithm: vi.fn<() => void>(),
    toggleDrain: vi.fn<(backend: string) => void>(),
    setWeight: vi.fn<(backend: string, weight: number) => void>(),
    quit: vi.fn<() => void>(),
  } satisfies RunControls;
  return { ...controls, ...faultToggles };
}

const tick = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  cleanup();
});

describe('Dashboard', () => {
  it('draws the header, every backend, expected shares and the down state', async () => {
    const { lastFrame } = render(<Dashboard controls={fakeControls()} />);
    await tick();
    const frame = lastFrame() ?? '';
    expect(frame).toContain('swrr');
    expect(frame).toContain('http://127.0.0.1:43100/');
    expect(frame).toContain('12.3s / 30.0s');
    for (const text of ['b1', 'b2', 'b3', '43101', '43102', '43103']) expect(frame).toContain(text);
    expect(frame).toMatch(/b2 .*exited .*DOWN 0\/2 .*L4CON/);
    for (const pct of ['50.0%', '33.3%', '16.7%']) expect(frame).toContain(`/ ${pct}`);
    expect(frame).toContain('slow ×10');
    expect(frame).toContain('≤2ms');
    expect(frame).toContain('≤100ms');
    expect(frame).not.toContain('≤1ms');
    expect(frame).not.toContain('>2000ms');
    expect(frame).toContain('SIGKILL pid 40102');
    expect(frame).toContain('q quit');
  });

  it('stays within 100 columns and about 30 lines', async () => {
    const { lastFrame } = render(<Dashboard controls={fakeControls()} />);
    await tick();
    const lines = (lastFrame() ?? '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    for (const line of lines) expect(line.replace(/\u001B\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(100);
  });

  it('with routes, shows each backend\'s pool and the pools with an algorithm of their own, within 100 columns', async () => {
    const snap = fakeSnapshot();
    snap.backends = snap.backends.map((b, i) => ({ ...b, pool: i < 2 ? '/api' : 'static.example.local' }));
    snap.pools = [
      { name: '/api', algo: 'swrr' },
      { name: 'static.example.local', algo: 'least-conn' },
    ];
    const { lastFrame } = render(<Dashboard controls={fakeControls(snap)} />);
    await tick();
    const frame = lastFrame() ?? '';
    expect(frame).toContain('swrr (static.example.local least-conn)');
    // At 100 columns the pool column leaves no room for port and pid: they go, the rest stays whole (no cut row).
    expect(frame).toMatch(/name pool +w state/);
    expect(frame).toMatch(/b1 +\/api +3 UP/);
    expect(frame).toMatch(/b3 +static.ex… +1 UP .* 84\.2ms +0$/m);
    for (const line of frame.split('\n')) expect(line.replace(/\u001B\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(100);
  });

  it('with WebSocket clients, counts open WebSockets per backend against the expected share, their drops and echo round trip, within 100 columns', async () => {
    const snap = fakeSnapshot();
    const ws = { rate: 0, connects: 40, p50Ms: 0.9, p99Ms: 9.5 };
    snap.webSockets = { clients: 30, messageRate: 5, open: 30, reconnects: 10, expired: 0, drops: 10, sent: 800, echoed: 799, unanswered: 1, ...ws };
    snap.backends = snap.backends.map((b, i) => ({ ...b, expectedShare: i === 1 ? 0 : 0.5, webSockets: { ...ws, open: i === 1 ? 0 : 15, share: i === 1 ? 0 : 0.5, connects: i === 1 ? 10 : 15, drops: i === 1 ? 10 : 0 } }));
    delete snap.history;
    const { lastFrame } = render(<Dashboard controls={fakeControls(snap)} />);
    await tick();
    const frame = (lastFrame() ?? '').replace(/\u001B\[[0-9;]*m/g, '');
    expect(frame).toMatch(/^WebSockets 30\/30 open {2}msg\/s each 5\.0 {2}connects\/s 0\.0 {2}drops 10 {2}reconnects 10$/m);
    expect(frame).toMatch(/^echo rtt p50 0\.90ms p99 9\.5ms {2}messages 800 sent · 799 echoed · 1 unanswered$/m);
    expect(frame).toMatch(/ ws conn\/s open share .* rtt50 +rtt99 drops$/m);
    expect(frame).toMatch(/b1 .* 15 +0\.0 .* 50\.0% \/ 50\.0% +0\.90ms +9\.5ms +0$/m);
    expect(frame).toMatch(/b2 .* 0 +0\.0 .* 0\.0% \/ +0\.0% +0\.90ms +9\.5ms +10$/m);
    expect(frame).toContain('echo round trip  p50');
    expect(frame).not.toContain('req/s');
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('kills the backend selected by its digit', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('2');
    await tick();
    stdin.write('k');
    await tick();
    expect(controls.kill).toHaveBeenCalledWith('b2');
  });

  it('acts on every key of a chunk typed at once ("3h")', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('3h');
    await tick();
    expect(controls.toggleHealthFail).toHaveBeenCalledWith('b3');
    expect(controls.toggleHealthFail).toHaveBeenCalledTimes(1);
  });

  it('moves the selection with the arrows, clamped, and restarts the selected backend', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write(DOWN_KEY);
    await tick();
    stdin.write('r');
    await tick();
    expect(controls.restart).toHaveBeenLastCalledWith('b2');
    for (let i = 0; i < 5; i++) {
      stdin.write(DOWN_KEY);
      await tick(10);
    }
    stdin.write('s');
    await tick();
    expect(controls.toggleSlow).toHaveBeenLastCalledWith('b3');
    for (let i = 0; i < 5; i++) {
      stdin.write(UP_KEY);
      await tick(10);
    }
    stdin.write('e');
    await tick();
    expect(controls.toggleErrors).toHaveBeenLastCalledWith('b1');
    stdin.write('h');
    await tick();
    expect(controls.toggleHealthFail).toHaveBeenLastCalledWith('b1');
  });

  it('switches hang (g), reset (x) and degrade (u) on the selected backend, and c clears its faults', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('2g');
    await tick();
    expect(controls.toggleHang).toHaveBeenCalledWith('b2');
    stdin.write('x');
    await tick();
    expect(controls.toggleReset).toHaveBeenCalledWith('b2');
    stdin.write('3u');
    await tick();
    expect(controls.toggleDegrade).toHaveBeenCalledWith('b3');
    stdin.write('c');
    await tick();
    expect(controls.recover).toHaveBeenCalledWith('b3');
    for (const fn of [controls.toggleHang, controls.toggleReset, controls.toggleDegrade, controls.recover]) expect(fn).toHaveBeenCalledTimes(1);
    expect(controls.kill).not.toHaveBeenCalled();
    expect(controls.quit).not.toHaveBeenCalled();
  });

  it('shows the new faults in words under the backend row and names their keys', async () => {
    const snapshot = fakeSnapshot();
    snapshot.backends[0] = { ...snapshot.backends[0]!, faults: ['hang', 'reset mid-response', 'degrading +20ms/s (now +140ms)'] };
    const { lastFrame } = render(<Dashboard controls={fakeControls(snapshot)} />);
    await tick();
    const frame = lastFrame() ?? '';
    expect(frame).toContain('↳ hang, reset mid-response, degrading +20ms/s (now +140ms)');
    for (const key of ['g hang', 'x reset', 'u degrade', 'c recover']) expect(frame).toContain(key);
  });

  it('doubles and halves concurrency, pauses and quits', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('+');
    await tick();
    expect(controls.setConcurrency).toHaveBeenLastCalledWith(32);
    stdin.write('-');
    await tick();
    expect(controls.setConcurrency).toHaveBeenLastCalledWith(8);
    stdin.write('p');
    await tick();
    expect(controls.togglePause).toHaveBeenCalledTimes(1);
    expect(controls.quit).not.toHaveBeenCalled();
    stdin.write('q');
    await tick();
    expect(controls.quit).toHaveBeenCalledTimes(1);
    stdin.write('\u0003');
    await tick();
    expect(controls.quit).toHaveBeenCalledTimes(2);
  });

  it('drains the selected backend with d', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('3d');
    await tick();
    expect(controls.toggleDrain).toHaveBeenCalledWith('b3');
  });

  it('cycles the algorithm with a', async () => {
    const controls = fakeControls();
    const { stdin } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('a');
    await tick();
    expect(controls.cycleAlgorithm).toHaveBeenCalledTimes(1);
  });

  it('sets the selected backend\'s weight with w, digits and Enter; Esc cancels; q while typing is not quit', async () => {
    const controls = fakeControls();
    const { stdin, lastFrame } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('2');
    await tick();
    stdin.write('w');
    await tick();
    expect(lastFrame()).toContain('weight of b2');
    stdin.write('1q2');
    await tick();
    expect(lastFrame()).toContain('weight of b2: 12▏');
    stdin.write('\r');
    await tick();
    expect(controls.setWeight).toHaveBeenCalledWith('b2', 12);
    expect(controls.quit).not.toHaveBeenCalled();
    expect(lastFrame()).toContain('q quit');
    stdin.write('w');
    await tick();
    stdin.write('7');
    await tick();
    stdin.write('\u001B');
    await tick(100);
    expect(lastFrame()).not.toContain('weight of');
    expect(controls.setWeight).toHaveBeenCalledTimes(1);
  });

  it('takes "w5\\r" typed as one chunk, edits with Backspace, and drops a weight of 0', async () => {
    const controls = fakeControls();
    const { stdin, lastFrame } = render(<Dashboard controls={controls} />);
    await tick();
    stdin.write('3w5\r');
    await tick();
    expect(controls.setWeight).toHaveBeenCalledWith('b3', 5);
    stdin.write('w');
    await tick();
    stdin.write('47');
    await tick();
    stdin.write('\u007F');
    await tick();
    expect(lastFrame()).toContain('weight of b3: 4▏');
    stdin.write('\r');
    await tick();
    expect(controls.setWeight).toHaveBeenLastCalledWith('b3', 4);
    stdin.write('w0\r');
    await tick();
    expect(controls.setWeight).toHaveBeenCalledTimes(2);
    expect(lastFrame()).not.toContain('weight of');
  });

  it('refreshes from controls.snapshot() on its interval', async () => {
    const controls = fakeControls();
    render(<Dashboard controls={controls} refreshMs={20} />);
    const before = controls.snapshot.mock.calls.length;
    // Three more refreshes come within ~60 ms; a busy machine may skip a tick, so wait for them rather than a fixed time.
    await vi.waitFor(() => expect(controls.snapshot.mock.calls.length).toBeGreaterThan(before + 2), { timeout: 2000 });
  });
});
