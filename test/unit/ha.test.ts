import net from 'node:net';
import { buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { haConnector, SYN_RTO_MS, type ConnectTally } from '../../src/load/ha-connector.js';
import { renderReport } from '../../src/report/render-report.js';
import { pathNamer } from '../../src/scenario/field-error.js';
import { resolveScenario } from '../../src/scenario/resolve.js';
import { parseEvent } from '../../src/scenario/timeline.js';
import { fixture } from './report-fixtures.js';
import type { HaRecord } from '../../src/metrics/run-record.js';

/** Two balancers: the scenario fields, the kill events, the clients' connector on real loopback sockets, and the report section. */

describe('two balancers in the scenario', () => {
  it('balancers: 2 takes active-passive, a 1 s interval (keepalived advert_int), fall 3 and the virtual address 127.0.0.10', () => {
    const s = resolveScenario({ backends: 2, balancers: 2 });
    expect(s.ha).toEqual({
      mode: 'active-passive',
      intervalMs: 1000,
      fall: 3,
      timeoutMs: 1000,
      virtualAddress: '127.0.0.10',
      balancers: [
        { name: 'lb1', address: '127.0.0.11' },
        { name: 'lb2', address: '127.0.0.12' },
      ],
    });
    expect(resolveScenario({ backends: 2, balancers: 2, ha: 'dns-rr', 'ha-interval': '200ms' }).ha).toMatchObject({ mode: 'dns-rr', intervalMs: 200, timeoutMs: 200 });
    expect(resolveScenario({ backends: 2 }).ha).toBeUndefined();
    expect(resolveScenario({ backends: 2, balancers: 1 }).ha).toBeUndefined();
  });

  it.each([
    [{ ha: 'dns-rr' }, /`ha` only with `balancers 2`/],
    [{ balancers: 1, 'ha-interval': '1s' }, /`ha-interval` only with `balancers 2`/],
    [{ balancers: 3 }, /balancers.*from 1 to 2/],
    [{ balancers: 2, ha: 'vrrp' }, /`ha` to be one of active-passive, dns-rr, got "vrrp"/],
    [{ balancers: 2, 'ha-interval': '10ms' }, /`ha-interval` to be at least 50ms/],
    [{ balancers: 2, engine: 'haproxy' }, /`engine lblab` with `balancers 2`/],
    [{ balancers: 2, load: { protocol: 'ws', 'message-rate': 1 } }, /`load.protocol http` or `http2` with `balancers 2`/],
    [{ balancers: 2, regions: { us: ['b1'], eu: ['b2'] }, rtt: { 'us-eu': '40ms' } }, /`regions` or `balancers 2`, not both/],
  ])('refuses %j', (fields, message) => {
    expect(() => resolveScenario({ backends: 2, ...fields })).toThrow(message);
  });

  it('a kill or restart event may name a balancer of the pair; other actions and unknown names may not', () => {
    expect(parseEvent('--event', '5s kill lb1', ['b1'], [], ['lb1', 'lb2'])).toEqual({ atMs: 5000, action: 'kill', target: 'lb1' });
    expect(parseEvent('--event', '8s restart lb1', ['b1'], [], ['lb1', 'lb2'])).toEqual({ atMs: 8000, action: 'restart', target: 'lb1' });
    expect(parseEvent('--event', '5s kill b1', ['b1'], [], ['lb1', 'lb2'])).toEqual({ atMs: 5000, action: 'kill', target: 'b1' });
    expect(() => parseEvent('--event', '5s drain lb1', ['b1'], [], ['lb1', 'lb2'])).toThrow(/backend to be one of b1, got "lb1"/);
    expect(() => parseEvent('--event', '5s kill lb1', ['b1'], [])).toThrow(/backend to be one of b1, got "lb1"/);
    expect(() => resolveScenario({ backends: 2, timeline: ['1s kill lb1'] }, { name: pathNamer })).toThrow(/backend to be one of b1, b2/);
  });
});

describe('haConnector on loopback', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const listen = (host: string, port = 0): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = net.createServer((s) => sockets.push(s));
      servers.push(server);
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
    });
  const connect = (connector: buildConnector.connector, port: number): Promise<net.Socket> =>
    new Promise((resolve, reject) =>
      connector({ hostname: 'ignored.test', protocol: 'http:', port: String(port) }, (err, socket) => {
        if (err) return reject(err);
        sockets.push(socket as net.Socket);
        resolve(socket as net.Socket);
      }),
    );

  it('dns-rr: each new connection takes the next address, and one refused goes to the other at once', async () => {
    const port = await listen('127.0.0.12');
    const tally: ConnectTally = { opened: 0, retried: 0, retransmitted: 0 };
    const connector = haConnector(buildConnector({}), { mode: 'dns-rr', addresses: ['127.0.0.11', '127.0.0.12'] }, 0, tally);
    const remotes: string[] = [];
    for (let i = 0; i < 6; i++) remotes.push((await connect(connector, port)).remoteAddress!);
    // Nobody listens on 127.0.0.11: every connection ends on .12, and every other one was refused there first.
    expect(remotes).toEqual(Array(6).fill('127.0.0.12'));
    expect(tally).toEqual({ opened: 6, retried: 3, retransmitted: 0 });
  });

  it('active-passive: a refused connect to the virtual address is retried after the SYN RTO, and lands once the address is held', async () => {
    const port = await listen('127.0.0.12');
    await new Promise((r) => servers.pop()!.close(r));
    const tally: ConnectTally = { opened: 0, retried: 0, retransmitted: 0 };
    const connector = haConnector(buildConnector({}), { mode: 'active-passive', addresses: ['127.0.0.12'] }, 0, tally);
    const started = performance.now();
    const connected = connect(connector, port);
    // The takeover: the address is held 200 ms later.
    setTimeout(() => void listen('127.0.0.12', port), 200);
    const socket = await connected;
    const waited = performance.now() - started;
    expect(socket.remoteAddress).toBe('127.0.0.12');
    expect(tally).toEqual({ opened: 1, retried: 0, retransmitted: 1 });
    expect(waited).toBeGreaterThanOrEqual(SYN_RTO_MS - 5);
  });
});

describe('the report of two balancers', () => {
  it('gives each one, the takeover against its budget and what the kill cost the clients', () => {
    const ha: HaRecord = {
      mode: 'active-passive',
      addresses: ['127.0.0.10'],
      port: 8000,
      intervalMs: 200,
      fall: 3,
      budgetMs: 800,
      balancers: [
        { name: 'lb1', address: '127.0.0.11', requests: 1500, state: 'down', pid: 11 },
        { name: 'lb2', address: '127.0.0.12', requests: 500, state: 'active', pid: 12 },
      ],
      kills: [{ atMs: 3000, balancer: 'lb1', pid: 11, wasActive: true, inFlight: 16, connections: 16 }],
      takeovers: [{ atMs: 3520, balancer: 'lb2', address: '127.0.0.10:8000', failedChecks: 3, lastError: 'ECONNREFUSED', firstFailedAtMs: 3100 }],
      failovers: [
        { atMs: 3000, balancer: 'lb1', wasActive: true, inFlight: 16, connections: 16, takeoverMs: 520, clientErrors: 17, errorsSentAfter: 1, firstResponseMs: 1040, connects: { opened: 16, retried: 0, retransmitted: 16 } },
      ],
    };
    const text = renderReport({ ...fixture('run-weighted-kill'), ha }, { color: false });
    expect(text).toContain('Balancers (two, active-passive on 127.0.0.10:8000)');
    expect(text).toMatch(/lb1\s+127\.0\.0\.11\s+1500\s+75\.0%\s+down/);
    expect(text).toMatch(/\+3\.0s\s+lb1 \(active\)\s+16\s+520ms\s+17 \(1 sent after\)\s+1040ms\s+16 opened, 16 SYNs/);
    expect(text).toContain('budget 800ms');
  });
});
