import { describe, expect, it } from 'vitest';
import type { LoadConfig } from '../../src/load/load-generator.js';
import { LoadGenerator, runLoad } from '../support/load-run.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';

/**
 * The load generator in-process against a plain node:http server on
 * 127.0.0.1 that records who connected and what they sent. The generator
 * is imported from dist/ (built by `npm test`): its worker thread must be
 * compiled JavaScript.
 */

type Seen = { remote: string; user: string | undefined; seq: string | undefined };

const closers = closersAfterEach();

async function recordingServer(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await listenHttp((req, res) => {
    seen.push({ remote: req.socket.remoteAddress ?? '', user: req.headers['x-user'] as string | undefined, seq: req.headers['x-seq'] as string | undefined });
    res.writeHead(200, { 'x-lblab-backend': 's1', 'content-length': 2 });
    res.end('ok');
  }, closers);
  return { url: `${server.url}/`, seen };
}

/** A load run of 500 ms unless `config` says otherwise, to its end. */
const run = (config: Omit<LoadConfig, 'durationMs'>) => runLoad({ durationMs: 500, ...config }, closers);

describe('virtual clients', () => {
  it('--clients 5: five source addresses 127.0.0.2…6, each tallied as served by s1', async () => {
    const { url, seen } = await recordingServer();
    const load = await run({ url, concurrency: 4, clients: 5 });
    expect(seen.length).toBeGreaterThan(20);
    expect(load.stats.requests).toBe(seen.length);
    expect(new Set(seen.map((s) => s.remote))).toEqual(new Set(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']));
    const tally = load.clientTally;
    expect(tally.backendsPerClient(0)).toEqual({ clients: 5, singleBackend: 5, maxBackends: 1 });
    for (let c = 0; c < 5; c++) {
      expect(tally.epochs[0]!.perClient.get(c)?.get('s1')).toBeGreaterThan(0);
      expect(tally.dominantBackend(0, c)).toBe('s1');
    }
    // round robin: the clients' shares differ by at most the requests in flight
    const counts = [...tally.epochs[0]!.perClient.values()].map((m) => m.get('s1')!);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });

  it('--spread-clients: five clients in five different /24s', async () => {
    const { url, seen } = await recordingServer();
    const load = await run({ url, concurrency: 4, clients: 5, spreadClients: true });
    const remotes = new Set(seen.map((s) => s.remote));
    expect(remotes).toEqual(new Set(['127.1.0.1', '127.1.1.1', '127.1.2.1', '127.1.3.1', '127.1.4.1']));
    expect(new Set([...remotes].map((r) => r.split('.').slice(0, 3).join('.'))).size).toBe(5);
    expect(load.clientTally.backendsPerClient(0).clients).toBe(5);
  });

  it('header placeholders: {client} is 1…5 and matches the source address, {seq} is unique, over two threads', async () => {
    const { url, seen } = await recordingServer();
    const load = await run({
      url,
      concurrency: 4,
      clients: 5,
      threads: 2,
      headers: [
        { name: 'x-user', value: 'u{client}' },
        { name: 'x-seq', value: '{seq}' },
      ],
    });
    expect(seen.length).toBeGreaterThan(20);
    expect(new Set(seen.map((s) => s.user))).toEqual(new Set(['u1', 'u2', 'u3', 'u4', 'u5']));
    for (const s of seen) expect(s.remote).toBe(`127.0.0.${Number(s.user!.slice(1)) + 1}`);
    const seqs = seen.map((s) => Number(s.seq));
    expect(seqs.every((n) => Number.isInteger(n) && n >= 1)).toBe(true);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(load.clientTally.backendsPerClient(0)).toEqual({ clients: 5, singleBackend: 5, maxBackends: 1 });
  });

  it('without --clients: the system source address, {client} = 1, and a later epoch tallies apart', async () => {
    const { url, seen } = await recordingServer();
    const load = new LoadGenerator({ url, concurrency: 2, durationMs: 600, headers: [{ name: 'x-user', value: 'u{client}' }] });
    closers.push(() => load.stop());
    load.start();
    // The next epoch starts with the run under way: once its first request is in.
    await until(() => seen.length > 0, 'the first request of the run');
    const epoch = load.startClientEpoch();
    await load.done();
    expect(new Set(seen.map((s) => s.remote))).toEqual(new Set(['127.0.0.1']));
    expect(new Set(seen.map((s) => s.user))).toEqual(new Set(['u1']));
    const before = load.clientTally.epochs[0]!.perClient.get(0)?.get('s1') ?? 0;
    const after = epoch.perClient.get(0)?.get('s1') ?? 0;
    expect(after).toBeGreaterThan(0);
    expect(before + after).toBe(seen.length);
  });
});
