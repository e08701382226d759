import { describe, expect, it } from 'vitest';
import type { LoadConfig } from '../../src/load/load-generator.js';
import { runLoad } from '../support/load-run.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';

/**
 * The open model (`rate`) and `requests` of the load generator, in-process
 * against node:http servers on 127.0.0.1. The generator comes from dist/
 * (built by `npm test`): its worker thread must be compiled JavaScript.
 */

const closers = closersAfterEach();

const run = (config: LoadConfig) => runLoad(config, closers);

describe('open model', () => {
  it('--rate 200 for 1.5s: about 300 requests, evenly paced over two threads, not in bursts', async () => {
    const arrivals: number[] = [];
    const server = await listenHttp((_req, res) => {
      arrivals.push(performance.now());
      res.writeHead(200, { 'x-lblab-backend': 's1', 'content-length': 2 });
      res.end('ok');
    }, closers);
    const load = await run({ url: `${server.url}/`, concurrency: 1, rate: 200, durationMs: 1500, threads: 2 });
    // The schedule holds 300 sends; a busy machine may leave a few unsent at the end.
    expect(load.stats.requests + load.open.unsent).toBe(300);
    expect(load.stats.requests).toBeGreaterThanOrEqual(270);
    expect(load.stats.requests).toBe(arrivals.length);
    // Evenly paced: each quarter second holds about 50. A generator that fires
    // each second's requests at once puts 200 in one quarter and none in the
    // next three. (Gaps between single requests are not asserted: on a busy
    // machine a timer fires late and the requests due meanwhile go together.)
    const windows = Array.from({ length: 6 }, () => 0);
    for (const t of arrivals) windows[Math.min(5, Math.floor((t - arrivals[0]!) / 250))]!++;
    expect(Math.max(...windows)).toBeLessThan(110);
    expect(windows.filter((n) => n >= 15).length).toBeGreaterThanOrEqual(5);
    expect(load.rate).toBe(200);
  });

  it('a server slower than the rate: latency counts from the scheduled send, the uncorrected figure stays at the service time', async () => {
    // 50 ms per request and one request at a time: 20 req/s can be served, 100 req/s are scheduled.
    const server = await listenHttp((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'x-lblab-backend': 's1', 'content-length': 2 });
        res.end('ok');
      }, 50);
    }, closers);
    const load = await run({ url: `${server.url}/`, concurrency: 1, rate: 100, maxInFlight: 1, durationMs: 1500 });
    const sent = load.stats.requests;
    expect(sent).toBeGreaterThan(5);
    expect(sent).toBeLessThan(40);
    // Every send but the first was due while the one slot was taken.
    expect(load.open.waitedForSlot).toBeGreaterThanOrEqual(sent - 2);
    expect(load.open.lateSends).toBeGreaterThanOrEqual(sent - 2);
    // What the schedule held and could not send is counted, not dropped silently.
    expect(sent + load.open.unsent).toBeGreaterThanOrEqual(140);
    const uncorrected = load.open.uncorrected.summary();
    const corrected = load.stats.latency.summary();
    expect(uncorrected.p50).toBeGreaterThanOrEqual(45);
    expect(uncorrected.p50).toBeLessThan(250);
    // The queue behind the slot grows through the run: the last requests waited most of it.
    expect(corrected.max).toBeGreaterThan(600);
    expect(corrected.p50).toBeGreaterThan(uncorrected.p50 * 2);
  });

  it('--requests with the open model: exactly that many, over two threads, then it stops by itself', async () => {
    const seqs: string[] = [];
    const server = await listenHttp((req, res) => {
      seqs.push(String(req.headers['x-seq']));
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    }, closers);
    const load = await run({ url: `${server.url}/`, concurrency: 1, rate: 500, requests: 37, durationMs: 0, threads: 2, headers: [{ name: 'x-seq', value: '{seq}' }] });
    expect(load.stats.requests).toBe(37);
    expect(seqs).toHaveLength(37);
    expect(new Set(seqs).size).toBe(37);
    expect(load.open.unsent).toBe(0);
  });

  it('--requests with the closed model: exactly that many, then it stops by itself; the sequence lists who answered in order', async () => {
    let n = 0;
    const server = await listenHttp((_req, res) => {
      res.writeHead(200, { 'x-lblab-backend': `s${(n++ % 3) + 1}`, 'content-length': 2 });
      res.end('ok');
    }, closers);
    const load = await run({ url: `${server.url}/`, concurrency: 1, requests: 9, durationMs: 0 });
    expect(load.stats.requests).toBe(9);
    expect(server.hits()).toBe(9);
    expect(load.sequence()).toEqual(['s1', 's2', 's3', 's1', 's2', 's3', 's1', 's2', 's3']);
    expect(load.recordInputs().open).toBeUndefined();
  });

  it('virtual clients: the summary says how many backends each met', async () => {
    // Client 127.0.0.2 always meets s1; the others alternate between s1 and s2.
    let n = 0;
    const server = await listenHttp((req, res) => {
      const name = req.socket.remoteAddress === '127.0.0.2' ? 's1' : `s${(n++ % 2) + 1}`;
      res.writeHead(200, { 'x-lblab-backend': name, 'content-length': 2 });
      res.end('ok');
    }, closers);
    const load = await run({ url: `${server.url}/`, concurrency: 2, clients: 4, requests: 40, durationMs: 0 });
    expect(load.clientsSummary(4)).toMatchObject({ total: 4, touched: { '1': 1, '2': 3 }, stickiness: 0.25 });
    expect(load.recordInputs().clients).toMatchObject({ total: 4, touched: { '1': 1, '2': 3 }, stickiness: 0.25 });
    // What each client got: every request answered, none limited or failed.
    const each = load.recordInputs().clients!.each!;
    expect(each).toHaveLength(4);
    expect(each.every((c) => c.requests > 0 && c.rateLimited === 0 && c.errors === 0)).toBe(true);
  });
});
