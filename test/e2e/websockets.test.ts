import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { describe, expect, it } from 'vitest';
import type { WebSocketLoadResult } from '../../src/load/websocket-load.js';
import { listeningPort, runCli, runCliToEnd, tagsAfterEach } from '../support/cli.js';
import { listenOn, closersAfterEach } from '../support/loopback.js';

const tags = tagsAfterEach();
const closers = closersAfterEach();

/** Starts `lblab backend` named `name`, ended after the test (a failed one too); resolves to its run and port. */
async function backend(name: string) {
  const run = runCli(['backend', '--port', '0', '--name', name, '--latency', '0ms']);
  tags.push(run.tag);
  closers.push(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
    await run.exit;
  });
  return { run, port: await listeningPort(run) };
}

describe('lblab load ws:// through lblab balance', () => {
  it('12 WebSocket clients 4/4/4 under round robin; a SIGKILLed backend drops exactly its 4, which reconnect elsewhere; every message accounted for', async () => {
    const bs = await Promise.all(['b1', 'b2', 'b3'].map(backend));
    const out = join(mkdtempSync(join(tmpdir(), 'lblab-ws-')), 'balance.json');
    const lb = runCli(['balance', '--port', '0', '--duration', '20s', '--out', out, ...bs.flatMap((b) => ['--backend', `http://127.0.0.1:${b.port}`])]);
    tags.push(lb.tag);
    const lbPort = await listeningPort(lb);
    const load = runCli(['load', `ws://127.0.0.1:${lbPort}/chat`, '--clients', '12', '--message-rate', '20', '--duration', '4s', '--json']);
    tags.push(load.tag);
    await load.waitFor(/open 12 {2}sent [1-9]/, 10_000);
    bs[1]!.run.child.kill('SIGKILL');
    expect(await load.exit).toBe(0);
    const r = JSON.parse(load.stdout()) as WebSocketLoadResult;
    expect(r.backends.b2).toMatchObject({ connects: 4, drops: 4, openAtEnd: 0 });
    expect(r.drops).toBe(4);
    expect(r.reconnects).toBe(4);
    expect(r.failedConnects).toBe(0);
    expect(r.connects).toBe(16);
    expect((r.backends.b1?.openAtEnd ?? 0) + (r.backends.b3?.openAtEnd ?? 0)).toBe(12);
    expect(r.echoed).toBeGreaterThan(0);
    // Nothing silently lost: each message was echoed, counted unanswered at the drop, or still pending at the end.
    expect(r.echoed + r.unanswered + r.pendingAtEnd).toBe(r.sent);
    lb.child.kill('SIGTERM');
    expect(await lb.exit).toBe(0);
    // The balancer's own record and report: upgrades per backend, b2's 4 reconnects failed there and went on.
    const record = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
    const ws = record.backends.map((b) => b.webSockets);
    expect(ws[1]).toMatchObject({ switched: 4, open: 0, refused: 0 });
    expect(ws[1]!.failed).toBeGreaterThanOrEqual(1);
    expect(ws[0]!.switched + ws[2]!.switched).toBe(12);
    expect(lb.stdout()).toMatch(/^WebSockets\s+\(upgrades passed on, 16 joined; each in flight on its backend while open\)$/m);
    expect(lb.stdout()).toMatch(/^b2 +4 +25\.0%\/33\.3% +0 +0 +\d+$/m);
  }, 60_000);

  it('ws:// to a server that does not speak WebSocket: a clear error, exit 1, nothing left running', async () => {
    const { port } = await listenOn(http.createServer((_req, res) => res.end('plain http\n')), closers);
    const r = await runCliToEnd(['load', `ws://127.0.0.1:${port}/`, '--clients', '2', '--duration', '5s']);
    tags.push(r.tag);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lblab: no WebSocket handshake with ws:\/\/127\.0\.0\.1:\d+\/ succeeded \(2 tried\): Unexpected server response: 200\n$/);
  });

  it('bad input: --rate with a ws:// URL, --message-rate with http://, exit 2', async () => {
    const a = await runCliToEnd(['load', 'ws://127.0.0.1:1/', '--rate', '10']);
    tags.push(a.tag);
    expect(a.code).toBe(2);
    expect(a.stderr).toBe('lblab: Expected `--rate` only with an http(s):// URL; WebSocket clients take --clients, --message-rate, --ws-lifetime and --duration\n');
    const b = await runCliToEnd(['load', 'http://127.0.0.1:1/', '--message-rate', '10']);
    tags.push(b.tag);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('Expected `--message-rate` only with a ws:// URL');
  });
});

describe('lblab start --protocol ws', () => {
  it('9 WebSocket clients 3/3/3 under round robin; a kill drops b2\'s 3, the event log says where they reconnected, the record has the clients\' side', async () => {
    const r = await runCliToEnd(['start', '--protocol', 'ws', '--clients', '9', '--message-rate', '5', '--headless', '--duration', '4s', '--event', '2s kill b2', '--json']);
    tags.push(r.tag);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^lblab: 3 backends, round-robin, balancer on http:\/\/127\.0\.0\.1:\d+\/, 9 WebSocket clients, 5 msg\/s each$/m);
    // Before the kill each backend holds a third of the open WebSockets.
    expect(r.stderr).toMatch(/ws {3}9 open .* b1 UP 3 ws 33\.3%  b2 UP 3 ws 33\.3%  b3 UP 3 ws 33\.3%$/m);
    const drops = /ws-drops b2  dropped 3 WebSockets; reconnected: (b[13]) (\d+)(?:, (b[13]) (\d+))?$/m.exec(r.stderr);
    expect(drops, r.stderr).not.toBeNull();
    expect(Number(drops![2]) + Number(drops![4] ?? 0)).toBe(3);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config.webSocket).toEqual({ clients: 9, messageRate: 5 });
    expect(record.config.concurrency).toBeUndefined();
    const c = record.webSocketClients!;
    expect(c.backends.b2).toMatchObject({ connects: 3, drops: 3, openAtEnd: 0, openShare: 0 });
    expect(c.backends.b1!.openAtEnd + c.backends.b3!.openAtEnd).toBe(9);
    expect(c).toMatchObject({ connects: 12, reconnects: 3, drops: 3, failedConnects: 0 });
    // Every message echoed, in flight at the drop, or pending at the end: none lost.
    expect(c.sent - c.echoed - c.unansweredAtDrop - c.pendingAtEnd).toBe(0);
    expect(c.echoed).toBeGreaterThan(100);
  }, 30_000);

  it('bad input: --protocol ws without --message-rate, with --rate or --concurrency, --message-rate without it: exit 2 naming the flag, nothing started', async () => {
    const cases: Array<[string[], string]> = [
      [['--protocol', 'ws'], 'lblab: Expected `--message-rate` (messages a second each WebSocket client sends, e.g. 5) with `--protocol ws`, got none\n'],
      [['--protocol', 'ws', '--message-rate', '5', '--rate', '10'], 'lblab: Expected `--rate` only with `--protocol http`; WebSocket clients take --clients, --message-rate, --ws-lifetime and --duration\n'],
      [['--mode', 'tcp', '--protocol', 'ws', '--message-rate', '5', '--concurrency', '4'], 'lblab: Expected `--concurrency` only with `--protocol http`; WebSocket clients take --clients, --message-rate, --ws-lifetime and --duration\n'],
      [['--message-rate', '5'], 'lblab: Expected `--message-rate` only with `--protocol ws`, got it with HTTP clients\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCliToEnd(['start', '--headless', '--duration', '2s', ...args]);
      tags.push(r.tag);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(stderr);
      expect(r.stdout).toBe('');
    }
  });
});

describe('WebSockets through the real engines (balance --engine)', () => {
  for (const engine of ['nginx', 'haproxy'] as const) {
    it(`${engine}: 6 WebSocket clients 2/2/2 under round robin, every message echoed (nginx needs the Upgrade/Connection lines lblab writes)`, async () => {
      const bs = await Promise.all(['b1', 'b2', 'b3'].map(backend));
      const lb = runCli(['balance', '--engine', engine, '--port', '0', '--duration', '20s', ...bs.flatMap((b) => ['--backend', `http://127.0.0.1:${b.port}`])]);
      tags.push(lb.tag);
      try {
        const lbPort = await listeningPort(lb);
        const load = await runCliToEnd(['load', `ws://127.0.0.1:${lbPort}/chat`, '--clients', '6', '--message-rate', '10', '--duration', '2s', '--json']);
        tags.push(load.tag);
        expect(load.code, load.stderr).toBe(0);
        const r = JSON.parse(load.stdout) as WebSocketLoadResult;
        expect(Object.fromEntries(Object.entries(r.backends).map(([n, t]) => [n, t.connects]))).toEqual({ b1: 2, b2: 2, b3: 2 });
        expect(r.drops).toBe(0);
        expect(r.echoed).toBeGreaterThan(0);
        expect(r.echoed + r.pendingAtEnd).toBe(r.sent);
      } finally {
        lb.child.kill('SIGTERM');
      }
      expect(await lb.exit).toBe(0);
    }, 60_000);
  }
});

