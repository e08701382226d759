import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runsAfterEach, type CliRun, listeningPort } from '../support/cli.js';

const { start } = runsAfterEach();

/** A real `lblab backend` process; resolves to it and its URL. */
async function backend(name: string): Promise<{ run: CliRun; url: string }> {
  const run = start(['backend', '--port', '0', '--name', name, '--latency', '0ms']);
  const port = await listeningPort(run);
  return { run, url: `http://127.0.0.1:${port}` };
}

describe('lblab balance active checks', () => {
  it('--health-check tcp: a killed backend goes DOWN after three L4CON', async () => {
    const b1 = await backend('b1');
    const bal = start(['balance', '--port', '0', '--backend', b1.url, '--health-check', 'tcp', '--health-interval', '200ms', '--json']);
    const port = await listeningPort(bal);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('b1');
    await res.text();

    b1.run.child.kill('SIGKILL');
    await b1.run.exit;
    await bal.waitFor(/down b1\s+3 failed checks, last L4CON/);

    bal.child.kill('SIGTERM');
    expect(await bal.exit).toBe(0);
    const record = JSON.parse(bal.stdout()) as RunRecord;
    expect(record.config.health).toMatchObject({ mode: 'tcp', intervalMs: 200, fastinterMs: 200, downinterMs: 200, fall: 3 });
    expect(record.backends[0]!.health.state).toBe('down');
  });

  it('--health-fastinter: with inter 2s, fastinter 200ms and fall 3 a killed backend goes DOWN in about 2s + 2×200ms, not 3×2s', async () => {
    const b1 = await backend('b1');
    const bal = start([
      'balance', '--port', '0', '--backend', b1.url, '--health-path', '/health',
      '--health-interval', '2s', '--health-fastinter', '200ms', '--fall', '3', '--json',
    ]);
    await bal.waitFor(/listening on /);

    const killedAt = performance.now();
    b1.run.child.kill('SIGKILL');
    await bal.waitFor(/down b1\s+3 failed checks, last L4CON/, 10_000);
    const tookMs = performance.now() - killedAt;
    // the first failed check comes at most one inter after the kill, then two fastinters
    expect(tookMs).toBeGreaterThan(350);
    expect(tookMs).toBeLessThan(3500);

    bal.child.kill('SIGTERM');
    expect(await bal.exit).toBe(0);
    const record = JSON.parse(bal.stdout()) as RunRecord;
    expect(record.config.health).toMatchObject({ mode: 'http', intervalMs: 2000, fastinterMs: 200, downinterMs: 2000 });
  });
});
