import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { backendsAt, startBalancer } from '../support/balancer.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { DEFAULT_RETRY_POLICY } from '../../src/balancer/retry-policy.js';

/**
 * The balancer's connect and response timeouts fire on time, as HAProxy's
 * and nginx's do: a try cut by a timeout ends within a few ms of the value,
 * not on undici's ~1 s clock. Measured by the client, through the
 * in-process balancer, in front of loopback peers that never answer.
 */

const closers = closersAfterEach();

/** What a busy 2-core machine may add to a timer, a loopback hop and a 504, ms. */
const SLACK_MS = 50;

/** No retry: the client's latency is one try's. */
const NO_RETRY = { ...DEFAULT_RETRY_POLICY, retries: 0 };

/** One fresh connection per request, closed after the test. */
function client(): Agent {
  const agent = new Agent({ pipelining: 0 });
  closers.push(() => agent.destroy());
  return agent;
}

/** GETs `url`, reads the whole body; resolves to the status (0 when the body was cut), the body and the client-measured ms. */
async function timedGet(url: string, agent: Agent): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(10_000) });
  const body = await res.body.text().catch(() => undefined);
  return { status: body === undefined ? 0 : res.statusCode, body: body ?? '', ms: performance.now() - started };
}

/** A loopback server that reads every request and never answers (the hang fault without the backend process). */
async function silent() {
  const held = new Set<http.ServerResponse>();
  const s = await listenHttp((_req, res) => held.add(res), closers);
  return s;
}

/**
 * A loopback port whose connects hang: a Python listener with a backlog of 0
 * that never accepts, its one queue slot filled by a connection of ours, so
 * the kernel drops further SYNs. The process is killed after the test.
 */
async function hangingConnectPort(): Promise<number> {
  const py = spawn('python3', ['-c', "import socket,sys\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0)\nprint(s.getsockname()[1], flush=True)\nsys.stdin.read()"], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  closers.push(async () => {
    if (py.exitCode === null && py.signalCode === null) {
      py.kill('SIGKILL');
      await once(py, 'exit');
    }
  });
  const [line] = (await once(py.stdout, 'data')) as [Buffer];
  const port = Number(String(line).trim());
  const filler = net.connect(port, '127.0.0.1');
  closers.push(async () => void filler.destroy());
  await once(filler, 'connect');
  return port;
}

describe('timeouts fire on time', () => {
  for (const timeoutMs of [300, 1000]) {
    it(`--response-timeout ${timeoutMs}ms: a backend that never answers is cut within ${SLACK_MS} ms of it (504)`, async () => {
      const never = await silent();
      const { url } = await startBalancer({ backends: backendsAt([never.url]), connection: { connectTimeoutMs: 2000, responseTimeoutMs: timeoutMs }, retry: NO_RETRY }, closers);
      const agent = client();
      for (let i = 0; i < 3; i++) {
        const r = await timedGet(url, agent);
        expect(r.status).toBe(504);
        expect(r.body).toContain(`did not answer within ${timeoutMs} ms (--response-timeout)`);
        expect(r.ms).toBeGreaterThanOrEqual(timeoutMs - 1);
        expect(r.ms, `cut after ${r.ms.toFixed(1)} ms`).toBeLessThan(timeoutMs + SLACK_MS);
      }
    });
  }

  it('a body that stops is cut one --response-timeout after its last chunk', async () => {
    const stalls = await listenHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
    }, closers);
    const { b, url } = await startBalancer({ backends: backendsAt([stalls.url]), connection: { connectTimeoutMs: 2000, responseTimeoutMs: 1000 }, retry: NO_RETRY }, closers);
    const r = await timedGet(url, client());
    expect(r.status, 'the response is cut mid-body').toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(999);
    expect(r.ms, `cut after ${r.ms.toFixed(1)} ms`).toBeLessThan(1000 + SLACK_MS);
    expect(b.backend('b1')!.failures).toBe(1);
  });

  it('--connect-timeout 300ms: a connect that hangs (full backlog) is cut within 50 ms of it (504)', async () => {
    const port = await hangingConnectPort();
    const { b, url } = await startBalancer({ backends: backendsAt([`http://127.0.0.1:${port}`]), connection: { connectTimeoutMs: 300, responseTimeoutMs: 60_000 }, retry: NO_RETRY }, closers);
    const r = await timedGet(url, client());
    expect(r.status).toBe(504);
    expect(r.body).toContain('did not accept the connection within 300 ms (--connect-timeout)');
    expect(r.ms).toBeGreaterThanOrEqual(299);
    expect(r.ms, `cut after ${r.ms.toFixed(1)} ms`).toBeLessThan(300 + SLACK_MS);
    expect(b.backend('b1')!.failures).toBe(1);
  });
});
