import { describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startBalancer } from '../support/balancer.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';

/**
 * The per-client-IP rate limit (nginx `limit_req rate=R burst=B nodelay`)
 * with the balancer in-process in front of a real loopback server: a client
 * sending faster than R gets 200s at R and 429s with Retry-After for the
 * rest, none of which reaches the backend; another client address is not
 * limited by the first one's traffic.
 */

const closers = closersAfterEach();

type Tally = { ok: number; limited: number; other: number; retryAfter: Set<string>; bodies: Set<string>; firstMs: number; lastMs: number };

/** Sends one request every `everyMs` for `forMs` from `localAddress`, on a schedule (not waiting for answers), and tallies the answers. */
async function steady(url: string, localAddress: string, everyMs: number, forMs: number): Promise<Tally> {
  const agent = new Agent({ localAddress, connections: 8 });
  closers.push(() => agent.destroy());
  const t: Tally = { ok: 0, limited: 0, other: 0, retryAfter: new Set(), bodies: new Set(), firstMs: 0, lastMs: 0 };
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    const due = t0 + i * everyMs;
    if (due - t0 > forMs) break;
    const wait = due - performance.now();
    // Kept on purpose: the schedule is the load (one send every `everyMs`), not a wait for something.
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now();
    if (i === 0) t.firstMs = sentAt;
    t.lastMs = sentAt;
    pending.push(
      request(url, { dispatcher: agent }).then(async (res) => {
        const body = await res.body.text();
        if (res.statusCode === 200) t.ok++;
        else if (res.statusCode === 429) {
          t.limited++;
          t.retryAfter.add(String(res.headers['retry-after']));
          t.bodies.add(body);
        } else t.other++;
      }),
    );
  }
  await Promise.all(pending);
  return t;
}

/** Sends `n` requests one after the other from `localAddress`, `gapMs` apart: never faster than 1000/gapMs a second, however late the timers. */
async function paced(url: string, localAddress: string, n: number, gapMs: number): Promise<number[]> {
  const agent = new Agent({ localAddress });
  closers.push(() => agent.destroy());
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(url, { dispatcher: agent });
    await res.body.text();
    statuses.push(res.statusCode);
    // Kept on purpose: the gap keeps this client under its rate.
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return statuses;
}

describe('rate limit per client IP (nginx limit_req … nodelay)', () => {
  it('a client above the rate gets 200s at the rate (±10%) and 429s with Retry-After for the rest, never forwarded; another address is unaffected', async () => {
    const server = await listenHttp((_req, res) => res.end('ok'), closers);
    const { b, url } = await startBalancer(
      {
        backends: [{ name: 'b1', url: server.url, weight: 1 }],
        health: { mode: 'http', intervalMs: 60_000, fastinterMs: 60_000, downinterMs: 60_000, timeoutMs: 500, rise: 1, fall: 1, path: '/' },
        rateLimit: { ratePerSecond: 20, burst: 4 },
      },
      closers,
    );
    const hitsBefore = server.hits();
    // 100/s from 127.0.0.2 against 20/s for 3 s, and meanwhile at most 10/s from 127.0.0.3, under its own limit.
    const [fast, slow] = await Promise.all([steady(url, '127.0.0.2', 10, 3000), paced(url, '127.0.0.3', 25, 100)]);
    const seconds = (fast.lastMs - fast.firstMs) / 1000;
    // The bucket starts full: burst + 1 at once, then one per 1/R s.
    const steadyRate = (fast.ok - (4 + 1)) / seconds;
    expect(steadyRate).toBeGreaterThanOrEqual(20 * 0.9);
    expect(steadyRate).toBeLessThanOrEqual(20 * 1.1);
    expect(fast.limited).toBeGreaterThan(150);
    expect(fast.other).toBe(0);
    expect([...fast.retryAfter]).toEqual(['1']);
    expect([...fast.bodies][0]).toMatch(/rate limit of 127\.0\.0\.2 exceeded/);
    expect(slow).toEqual(Array.from({ length: 25 }, () => 200));
    // Refused requests reach no backend, and the balancer counted each one.
    expect(server.hits() - hitsBefore).toBe(fast.ok + slow.length);
    expect(b.rateLimited).toBe(fast.limited);
  });
});
