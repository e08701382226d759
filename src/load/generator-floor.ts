import { Worker } from 'node:worker_threads';
import type { GeneratorFloor } from '../metrics/run-record.js';
import { LoadGenerator } from './load-generator.js';

/** Requests of the floor measurement, after {@link FLOOR_WARMUP} not counted (a cold worker, JIT warming up): enough for a p99, short enough to go unnoticed (about 0.3 s in all). */
export const FLOOR_REQUESTS = 1000;
/** Requests sent first and not counted in the floor. */
export const FLOOR_WARMUP = 1000;

export type { GeneratorFloor } from '../metrics/run-record.js';

/**
 * Measures the generator floor ({@link GeneratorFloor}: {@link FLOOR_REQUESTS}
 * requests one at a time to a zero-latency node:http target) now (before a run: the machine as the
 * run will find it). Starts and ends its own server and load worker.
 * @throws {RuntimeError} only if the loopback server cannot listen.
 */
export async function measureGeneratorFloor(): Promise<GeneratorFloor> {
  // The target runs in a thread of its own: lblab's main thread takes the load worker's batches, and a
  // server there would wait on them (a stall of a millisecond or two every batch, in the floor).
  const target = new Worker(ZERO_LATENCY_TARGET, { eval: true });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      target.once('message', (m: number) => resolve(m));
      target.once('error', reject);
    });
    const load = new LoadGenerator({ url: `http://127.0.0.1:${port}/`, concurrency: 1, requests: FLOOR_WARMUP + FLOOR_REQUESTS, durationMs: 5000, threads: 1, cookies: false });
    load.start();
    // Requests sent from the moment the warm-up is heard done count on their own (a period of the stats).
    let counted: ReturnType<typeof load.stats.startPeriod> | undefined;
    const watch = setInterval(() => {
      if (!counted && load.stats.requests >= FLOOR_WARMUP) counted = load.stats.startPeriod(load.nowMs());
    }, 5);
    await load.done();
    clearInterval(watch);
    const l = (counted ?? load.stats).latency;
    return { p50Us: Math.round(l.percentileMs(50) * 1000), p99Us: Math.round(l.percentileMs(99) * 1000), requests: l.count };
  } finally {
    await target.terminate();
  }
}

/** The zero-latency target: a node:http server on a free loopback port, `200 ok` at once; posts its port. */
const ZERO_LATENCY_TARGET = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = http.createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;
