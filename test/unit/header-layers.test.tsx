import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSnapshot } from '../../src/session/snapshot.js';
import { Header } from '../../src/tui/header.js';

afterEach(() => cleanup());

function snapshot(extra: Partial<RunSnapshot>): RunSnapshot {
  return {
    algo: 'round-robin',
    listen: 'http://127.0.0.1:43100/',
    elapsedMs: 5_000,
    periodStartMs: 0,
    durationMs: 0,
    rps: 900,
    concurrency: 16,
    paused: false,
    requests: 4_500,
    errors: 0,
    errorRate: 0,
    backends: [],
    latency: { edgesMs: [], counts: [], p50: 0, p90: 0, p99: 0, max: 0 },
    events: [],
    ...extra,
  };
}

describe('dashboard header: sticky sessions and rate limit', () => {
  it('has no third line when both are off', () => {
    const { lastFrame } = render(<Header snapshot={snapshot({})} />);
    expect(lastFrame()!.split('\n')).toHaveLength(2);
  });

  it('shows cookie insert with the cookies set, and the rate limit with its 429s', () => {
    const { lastFrame } = render(
      <Header
        snapshot={snapshot({
          sticky: { config: { mode: 'cookie', name: 'SERVERID' }, entries: 0, cookiesSet: 20 },
          rateLimit: { config: { ratePerSecond: 100, burst: 20 }, limited: 37 },
        })}
      />,
    );
    expect(lastFrame()!.split('\n')[2]).toBe('sticky cookie SERVERID  cookies set 20  rate limit 100/s burst 20 per IP  429s 37');
  });

  it('shows the source-IP stick table with its entries', () => {
    const { lastFrame } = render(<Header snapshot={snapshot({ sticky: { config: { mode: 'ip', ttlMs: 1_800_000, size: 100_000 }, entries: 42, cookiesSet: 0 } })} />);
    expect(lastFrame()!.split('\n')[2]).toBe('sticky ip 30m  stick table 42/100000 entries');
  });
});

describe('dashboard header: user sessions', () => {
  it('shows where the sessions live, the users, created/found/lost and what the latest fault cost', () => {
    const { lastFrame } = render(
      <Header
        snapshot={snapshot({
          sessions: {
            mode: 'memory',
            users: 40,
            totals: { created: 40, found: 2907, lost: 13 },
            lastLoss: { atMs: 4000, type: 'kill', target: 'b2', users: 40, targetUsers: 13, loggedOut: 13 },
          },
        })}
      />,
    );
    const lines = lastFrame()!.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^sessions memory {2}users 40 {2}new 40 · found 2[ ,]?907 · lost 13 {2}kill b2 → 13 of 40 logged out$/);
  });
});
