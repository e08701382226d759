import { describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { get as httpGet } from '../support/http.js';
import { closersAfterEach } from '../support/loopback.js';
import { startBackendServer, type RunningBackend } from '../../src/backend/server.js';
import { classifyError } from '../../src/metrics/error-kind.js';

/**
 * The backend's run-time faults, in-process on loopback: what a client (the
 * balancer, a health check) sees when a backend hangs, resets connections
 * mid-response or degrades over time.
 */

const closers = closersAfterEach();

async function backend(latencyMs = 5, capacity = Infinity): Promise<{ b: RunningBackend; url: string }> {
  const b = await startBackendServer({ name: 'b1', port: 0, host: '127.0.0.1', latency: { kind: 'fixed', ms: latencyMs }, errorRate: 0, capacity });
  closers.push(() => b.close());
  return { b, url: `http://127.0.0.1:${b.port}` };
}

/** One connection per request, as a health check opens one. */
function client(): Agent {
  const agent = new Agent({ pipelining: 0 });
  closers.push(() => agent.destroy());
  return agent;
}

/** GETs `url` on `agent`, aborted after `timeoutMs` when given; status, body and how long it took (ms). */
const get = (url: string, agent: Agent, timeoutMs?: number) => httpGet(url, { dispatcher: agent, ...(timeoutMs !== undefined && { timeoutMs }) });

describe('backend faults', () => {
  it('hang: no answer within 1 s, /health neither; held requests are answered on recover, new ones too', async () => {
    const { b, url } = await backend();
    const agent = client();
    b.setFaults({ hang: true });
    const heldAnswer = get(`${url}/held`, agent);
    const [plain, health] = await Promise.allSettled([get(`${url}/`, agent, 1000), get(`${url}/health`, agent, 1000)]);
    expect(plain.status).toBe('rejected');
    expect(health.status).toBe('rejected');
    if (plain.status === 'rejected') expect(classifyError(plain.reason)).toBe('timeout');
    // A second later the held request has long reached the backend: recover answers it.
    b.recover();
    expect((await heldAnswer).status).toBe(200);
    const after = await get(`${url}/`, agent, 2000);
    expect(after.status).toBe(200);
    expect(after.body).toBe('hello from b1\n');
    expect((await get(`${url}/health`, agent, 2000)).status).toBe(200);
  });

  it('hang switched off with setFaults({ hang: false }) also answers what it held', async () => {
    const { b, url } = await backend();
    const agent = client();
    b.setFaults({ hang: true });
    const heldAnswer = get(`${url}/`, agent);
    await expect(get(`${url}/`, agent, 500)).rejects.toThrow();
    b.setFaults({ hang: false });
    expect((await heldAnswer).status).toBe(200);
  });

  it('reset: the client gets the headers, then a transport error mid-body; /health still answers', async () => {
    const { b, url } = await backend();
    const agent = client();
    b.setFaults({ reset: true });
    for (let i = 0; i < 5; i++) {
      const res = await request(`${url}/`, { dispatcher: agent, signal: AbortSignal.timeout(5000) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-lblab-backend']).toBe('b1');
      const err = await res.body.text().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the body should fail').toBeDefined();
      expect(['reset', 'other']).toContain(classifyError(err));
    }
    expect((await get(`${url}/health`, agent, 2000)).status).toBe(200);
    b.recover();
    expect((await get(`${url}/`, agent, 2000)).body).toBe('hello from b1\n');
  });

  it('degrade: service time grows with the time since the fault went on', async () => {
    const { b, url } = await backend(5);
    const agent = client();
    // A first request opens the connection and warms up, so that the two measured ones differ by the fault alone.
    await get(`${url}/`, agent, 5000);
    b.setFaults({ degradeMsPerSecond: 100 });
    const early = await get(`${url}/`, agent, 5000);
    // Kept on purpose: the fault grows with time, so letting 2 s pass is the input of this test.
    await new Promise((r) => setTimeout(r, 2000));
    const late = await get(`${url}/`, agent, 5000);
    // +100 ms per second: the later request is ≥ 200 ms slower; 100 ms of slack for a busy machine.
    expect(late.ms - early.ms).toBeGreaterThan(100);
    b.recover();
    expect((await get(`${url}/`, agent, 5000)).ms).toBeLessThan(late.ms);
  });

  it('errors may answer 503 instead of 500', async () => {
    const { b, url } = await backend(0);
    const agent = client();
    b.setFaults({ errorRate: 1, errorStatus: 503 });
    expect((await get(`${url}/`, agent, 2000)).status).toBe(503);
    b.setFaults({ errorStatus: 500 });
    expect((await get(`${url}/`, agent, 2000)).status).toBe(500);
    b.recover();
    expect((await get(`${url}/`, agent, 2000)).status).toBe(200);
  });
});
