import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/options.js';
import { resolveScenario } from '../../src/scenario/resolve.js';
import { startBalancer } from '../support/balancer.js';
import { flagsInput } from '../support/flags.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';

/**
 * `--client-timeout` (HAProxy `timeout http-request`): a client that does not
 * finish its request head in time gets 408 and a closed connection, over a
 * real socket; one that does is proxied as ever.
 */

const closers = closersAfterEach();

async function balancerWith(clientTimeoutMs: number): Promise<{ port: number }> {
  const origin = await listenHttp((_req, res) => res.end('ok'), closers);
  const scenario = resolveScenario(flagsInput(['--backends', '1', '--client-timeout', `${clientTimeoutMs}ms`]), { name: flagOf });
  const { port } = await startBalancer({ ...scenario, backends: [{ name: 'b1', url: origin.url, weight: 1 }] }, closers);
  return { port };
}

/** Writes `head` on a fresh connection and resolves with all it read and when the server closed it (ms after the write). */
function send(port: number, head: string): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sentAt = 0;
    socket.on('connect', () => {
      sentAt = performance.now();
      socket.write(head);
    });
    socket.on('data', (d) => {
      text += d.toString('latin1');
      // A whole answer to a whole request: done, whatever keep-alive says.
      if (text.endsWith('ok')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, closedAfterMs: performance.now() - sentAt }));
  });
}

describe('--client-timeout (HAProxy timeout http-request)', () => {
  it('reads the flag into the scenario, 10 s by default, and refuses it at L4 and without a unit', () => {
    expect(resolveScenario(flagsInput(['--client-timeout', '2s']), { name: flagOf }).clientTimeoutMs).toBe(2000);
    expect(resolveScenario(flagsInput([]), { name: flagOf }).clientTimeoutMs).toBe(10_000);
    expect(() => resolveScenario(flagsInput(['--client-timeout', '5']), { name: flagOf })).toThrow(/^Expected `--client-timeout` to be a positive duration/);
    expect(() => resolveScenario(flagsInput(['--mode', 'tcp', '--client-timeout', '5s']), { name: flagOf })).toThrow(/`--client-timeout` only with `--mode http`/);
  });

  it('answers 408 and closes a connection whose request head does not arrive in time', async () => {
    const { port } = await balancerWith(300);
    const slow = await send(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: still typing');
    expect(slow.text).toMatch(/^HTTP\/1\.1 408 /);
    // Not before its time, and not Node's 30 s sweep either.
    expect(slow.closedAfterMs).toBeGreaterThanOrEqual(290);
    expect(slow.closedAfterMs).toBeLessThan(5000);
  });

  it('proxies a request whose head arrives in time', async () => {
    const { port } = await balancerWith(300);
    const ok = await send(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(ok.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(ok.text).toMatch(/x-lblab-backend: b1/i);
  });
});
