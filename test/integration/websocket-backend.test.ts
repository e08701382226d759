import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { closersAfterEach } from '../support/loopback.js';
import { startBackendServer, type RunningBackend } from '../../src/backend/server.js';

/**
 * The backend's WebSockets, in-process on loopback with the `ws` client:
 * the hello message, the echo, pushes, and what the hang fault does to an
 * upgrade and to an open WebSocket.
 */

const closers = closersAfterEach();

async function backend(wsPushMs = 0): Promise<{ b: RunningBackend; url: string }> {
  const b = await startBackendServer({ name: 'b1', port: 0, host: '127.0.0.1', latency: { kind: 'fixed', ms: 1 }, errorRate: 0, capacity: Infinity, wsPushMs });
  closers.push(() => b.close());
  return { b, url: `ws://127.0.0.1:${b.port}` };
}

/** A `ws` client to `url` and every message it got (as strings), in order; terminated after the test. */
function client(url: string): { ws: WebSocket; got: string[]; closed: Promise<number> } {
  const ws = new WebSocket(url);
  const got: string[] = [];
  ws.on('message', (data) => got.push(String(data)));
  ws.on('error', () => undefined);
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  closers.push(async () => {
    ws.terminate();
    await closed;
  });
  return { ws, got, closed };
}

const opened = (ws: WebSocket) => new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});

describe('backend WebSockets', () => {
  it('greets with its name, then echoes text as text and binary as binary; /health counts it', async () => {
    const { b, url } = await backend();
    const { ws, got } = client(`${url}/any/path`);
    const binaries: boolean[] = [];
    ws.on('message', (_d, isBinary) => binaries.push(isBinary));
    await opened(ws);
    ws.send('ping 1');
    ws.send(Buffer.from([1, 2, 3]));
    await vi.waitFor(() => expect(got).toHaveLength(3), { timeout: 3000 });
    expect(got[0]).toBe('{"backend":"b1"}');
    expect(got[1]).toBe('ping 1');
    expect(binaries).toEqual([false, false, true]);
    expect(b.health().webSockets).toBe(1);
  });

  it('--ws-push: a numbered push every interval, beside the echo', async () => {
    const { url } = await backend(50);
    const { got } = client(url);
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(3), { timeout: 3000 });
    expect(got.slice(0, 3)).toEqual(['{"backend":"b1"}', '{"backend":"b1","push":1}', '{"backend":"b1","push":2}']);
  });

  it('hang: an upgrade gets no answer until the fault is cleared; an open WebSocket stops echoing', async () => {
    const { b, url } = await backend();
    const early = client(url);
    await opened(early.ws);
    b.setFaults({ hang: true });
    early.ws.send('lost');
    const late = client(url);
    let lateOpen = false;
    late.ws.once('open', () => (lateOpen = true));
    // Absence has no event to wait on: 300 ms is many times a loopback echo or handshake.
    await new Promise((r) => setTimeout(r, 300));
    expect(lateOpen).toBe(false);
    expect(early.got).toEqual(['{"backend":"b1"}']);
    b.recover();
    await opened(late.ws);
    early.ws.send('back');
    await vi.waitFor(() => expect(early.got).toEqual(['{"backend":"b1"}', 'back']), { timeout: 3000 });
  });

  it('close() ends every open WebSocket', async () => {
    const { b, url } = await backend();
    const { ws, closed } = client(url);
    await opened(ws);
    await b.close();
    expect(await closed).toBe(1006);
  });
});
