import { describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import type { Balancer, BalancerConfig, TransitionEvent } from '../../src/balancer/balancer.js';
import { backendsAt, startBalancer as start } from '../support/balancer.js';
import { runCli, type CliRun } from '../support/cli.js';
import { get as httpGet, header, type Answer as HttpAnswer } from '../support/http.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';

/**
 * Sticky sessions with the balancer in-process in front of real backends:
 * cookie insert (HAProxy `cookie SERVERID insert indirect nocache`) over
 * real `lblab backend` processes, one of them SIGKILLed, and a source-IP
 * stick table with expiry over loopback servers, with clients on distinct
 * 127.x source addresses.
 */

const closers = closersAfterEach();

const HEALTH: BalancerConfig['health'] = { mode: 'http', intervalMs: 200, fastinterMs: 100, downinterMs: 200, timeoutMs: 500, rise: 1, fall: 2, path: '/health' };

/** Starts `lblab backend` as a real process on a free port; stopped after the test (SIGKILL if still running). */
async function realBackend(name: string): Promise<{ run: CliRun; url: string }> {
  const run = runCli(['backend', '--port', '0', '--name', name, '--latency', '2ms']);
  closers.push(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exit;
    }
  });
  const m = await run.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
  return { run, url: m[1]! };
}

/** A round-robin balancer over `urls` (b1, b2, …) with {@link HEALTH}; `transitions` collects its health changes from before it listens. */
async function startBalancer(urls: string[], extra: Partial<BalancerConfig>): Promise<{ b: Balancer; url: string; transitions: TransitionEvent[] }> {
  const transitions: TransitionEvent[] = [];
  const { b, url } = await start({ backends: backendsAt(urls), health: HEALTH, ...extra }, closers, (b) => b.on('transition', (t) => transitions.push(t)));
  return { b, url, transitions };
}

/** How long this file waits for a health change: 10 s. */
const TEN_SECONDS = { timeout: 10_000 };

type Answer = HttpAnswer & { cacheControl: string | undefined };

function agent(localAddress?: string): Agent {
  const a = new Agent(localAddress ? { localAddress } : {});
  closers.push(() => a.destroy());
  return a;
}

/** GETs `url` on `dispatcher`, sending `cookie` as the Cookie header when given; the answer with its Cache-Control. */
async function get(url: string, dispatcher: Agent, cookie?: string): Promise<Answer> {
  const a = await httpGet(url, { dispatcher, headers: cookie ? { cookie } : {} });
  return { ...a, cacheControl: header(a, 'cache-control') };
}

/**
 * A virtual client with a cookie jar of one cookie name: it sends back what
 * the last `Set-Cookie` of that name gave it, over its own keep-alive
 * connection, and remembers every backend that answered it.
 */
class CookieClient {
  jar: string | undefined;
  readonly backends: string[] = [];
  /** Index into {@link backends} of each answer that came with a Set-Cookie. */
  readonly cookieAt: number[] = [];
  readonly statuses: number[] = [];
  private readonly dispatcher = agent();
  constructor(private readonly name = 'SERVERID') {}

  async send(url: string): Promise<Answer> {
    const a = await get(url, this.dispatcher, this.jar !== undefined ? `theme=dark; ${this.name}=${this.jar}` : 'theme=dark');
    this.statuses.push(a.status);
    if (a.backend) this.backends.push(a.backend);
    const mine = a.setCookie.find((c) => c.startsWith(`${this.name}=`));
    if (mine) {
      this.jar = mine.slice(this.name.length + 1).split(';')[0];
      this.cookieAt.push(this.backends.length - 1);
    }
    return a;
  }
}

const distinct = (xs: readonly string[]): string[] => [...new Set(xs)];

/** Every form a cookie value could take if it gave away backend `name` at `url`: plain, base64, base64url and hex of the name, port, address and host:port. */
function revealing(name: string, url: string): string[] {
  const { hostname, port, host } = new URL(url);
  return [name, port, hostname, host, url].flatMap((s) => {
    const b = Buffer.from(s);
    return [s, b.toString('base64'), b.toString('base64url'), b.toString('hex')];
  });
}

describe('cookie insert (HAProxy cookie SERVERID insert indirect nocache)', () => {
  it('50 clients each see exactly one backend; a SIGKILLed backend’s clients move once and stay; forged cookies are balanced, never to the DOWN one', async () => {
    const procs = [await realBackend('b1'), await realBackend('b2'), await realBackend('b3')];
    const { b, url, transitions } = await startBalancer(
      procs.map((p) => p.url),
      { sticky: { mode: 'cookie', name: 'SERVERID' } },
    );
    const clients = Array.from({ length: 50 }, () => new CookieClient());
    const round = (n: number) => Promise.all(clients.map(async (c) => {
      for (let i = 0; i < n; i++) await c.send(url);
    }));

    await round(6);
    for (const c of clients) {
      expect(distinct(c.backends)).toHaveLength(1);
      // indirect: the cookie is set once, on the first answer, and not again while it is right.
      expect(c.cookieAt).toEqual([0]);
      expect(c.statuses.every((s) => s === 200)).toBe(true);
    }
    const home = new Map(clients.map((c) => [c, c.backends[0]!]));
    const perBackend = (name: string) => clients.filter((c) => home.get(c) === name).length;
    // Round robin spread the 50 new clients over the three.
    for (const n of ['b1', 'b2', 'b3']) expect(perBackend(n)).toBeGreaterThanOrEqual(10);
    // The value names no backend: it is none of its name, port or address in
    // any encoding the code could have used (asserted by equality, so a random
    // HMAC that happens to hold "b1" or four digits cannot fail it).
    for (const c of clients) {
      expect(c.jar).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const backendUrl = procs[Number(c.backends[0]!.slice(1)) - 1]!.url;
      expect(revealing(c.backends[0]!, backendUrl)).not.toContain(c.jar);
    }

    const idOf = (name: string) => clients.find((c) => home.get(c) === name)!.jar!;
    const ids: Record<string, string> = { b1: idOf('b1'), b2: idOf('b2'), b3: idOf('b3') };
    expect(new Set(Object.values(ids)).size).toBe(3);
    // A fresh key per start: another balancer over the same backends gives other ids.
    const again = await startBalancer(procs.map((p) => p.url), { sticky: { mode: 'cookie', name: 'SERVERID' } });
    const fresh = new CookieClient();
    await fresh.send(again.url);
    expect(fresh.jar).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fresh.jar).not.toBe(ids[fresh.backends[0]!]);

    procs[1]!.run.child.kill('SIGKILL');
    await procs[1]!.run.exit;
    const before = clients.map((c) => c.backends.length);
    await round(6);
    await until(() => transitions.some((t) => t.backend === 'b2' && t.to === 'down'), 'b2 DOWN', TEN_SECONDS);
    await round(4);
    clients.forEach((c, i) => {
      const after = c.backends.slice(before[i]);
      // Every request answered: a try on the dead backend was retried elsewhere.
      expect(c.statuses.every((s) => s === 200)).toBe(true);
      expect(after).not.toContain('b2');
      expect(distinct(after)).toHaveLength(1);
      const newCookies = c.cookieAt.filter((at) => at >= before[i]!).length;
      if (home.get(c) === 'b2') expect(newCookies).toBe(1);
      else {
        expect(after[0]).toBe(home.get(c));
        expect(newCookies).toBe(0);
      }
    });

    // Forged values: random, a backend's name, the dead b2's own id, a tampered id.
    const tampered = ids.b1!.slice(0, -1) + (ids.b1!.endsWith('A') ? 'B' : 'A');
    const forged = ['Zm9yZ2VkLXZhbHVlLTEyMzQ1', 'b1', 'b2', tampered, procs[0]!.url, ids.b2!];
    const selectedB2 = b.backend('b2')!.selected;
    const forgedTo: string[] = [];
    const plain = agent();
    for (let i = 0; i < 60; i++) {
      const a = await get(url, plain, `SERVERID=${forged[i % forged.length]}`);
      expect(a.status).toBe(200);
      forgedTo.push(a.backend!);
      // Never trusted: the answer re-pins the client with the real id of the backend that answered.
      expect(a.setCookie.find((c) => c.startsWith('SERVERID='))).toMatch(new RegExp(`^SERVERID=${ids[a.backend!]}; Path=/`));
      expect(a.cacheControl).toContain('no-cache="set-cookie"');
    }
    expect(b.backend('b2')!.selected).toBe(selectedB2);
    const tally = (n: string) => forgedTo.filter((x) => x === n).length;
    expect(tally('b2')).toBe(0);
    expect(tally('b1')).toBeGreaterThanOrEqual(20);
    expect(tally('b3')).toBeGreaterThanOrEqual(20);
  });
});

describe('cookie insert over loopback servers', () => {
  /** A server that answers with what Cookie header it saw, and sets its own SERVERID (which `indirect` must drop). */
  const echo = () =>
    listenHttp((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['SERVERID=from-backend; Path=/', 'app=1'] });
      res.end(req.headers.cookie ?? '(none)');
    }, closers);

  it('indirect: the backend never sees the sticky cookie, other cookies pass; a backend’s own cookie of that name is dropped', async () => {
    const servers = [await echo(), await echo()];
    const { url } = await startBalancer(
      servers.map((s) => s.url),
      { sticky: { mode: 'cookie', name: 'SERVERID' }, health: { ...HEALTH, path: '/' } },
    );
    const c = new CookieClient();
    const first = await c.send(url);
    expect(first.body).toBe('theme=dark');
    expect(first.setCookie).toContain('app=1');
    expect(first.setCookie.filter((s) => s.startsWith('SERVERID='))).toHaveLength(1);
    expect(first.setCookie.find((s) => s.startsWith('SERVERID='))).toMatch(/^SERVERID=[\w-]+; Path=\/; HttpOnly$/);
    const second = await c.send(url);
    expect(second.body).toBe('theme=dark');
    // Already pinned right: no Set-Cookie of ours, and the backend's own SERVERID does not reach the client.
    expect(second.setCookie).toEqual(['app=1']);
    expect(second.cacheControl).toBeUndefined();
    const onlySticky = await get(url, agent(), `SERVERID=${c.jar}`);
    expect(onlySticky.body).toBe('(none)');
    expect(onlySticky.backend).toBe(c.backends[0]);
  });

  it('a removed backend’s clients are re-balanced and re-pinned; a draining one keeps its sticky clients (HAProxy drain)', async () => {
    const ok = () => listenHttp((_req, res) => res.end('ok'), closers);
    const servers = [await ok(), await ok(), await ok()];
    const { b, url } = await startBalancer(
      servers.map((s) => s.url),
      { sticky: { mode: 'cookie', name: 'SID' }, health: { ...HEALTH, path: '/' } },
    );
    const clients = Array.from({ length: 9 }, () => new CookieClient('SID'));
    for (const c of clients) await c.send(url);
    const home = clients.map((c) => c.backends[0]!);
    expect(distinct(home).sort()).toEqual(['b1', 'b2', 'b3']);

    b.apply({ type: 'drain', backend: 'b1', on: true });
    for (const c of clients) await c.send(url);
    clients.forEach((c, i) => expect(c.backends.at(-1)).toBe(home[i]));
    // New clients do not go to the draining backend.
    for (let i = 0; i < 6; i++) expect((await new CookieClient('SID').send(url)).backend).not.toBe('b1');

    b.apply({ type: 'remove', backend: 'b3' });
    for (const c of clients) await c.send(url);
    for (const c of clients) await c.send(url);
    clients.forEach((c, i) => {
      const [movedTo, stayed] = c.backends.slice(-2);
      expect(movedTo).toBe(stayed);
      if (home[i] === 'b3') {
        expect(movedTo).toBe('b2');
        expect(c.cookieAt.at(-1)).toBe(c.backends.length - 2);
      } else expect(movedTo).toBe(home[i]);
    });
  });
});

describe('source-IP stick table (HAProxy stick-table type ip … expire, stick on src)', () => {
  const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];

  it('each source address sticks to its first backend until its entry expires, TTL after last use', async () => {
    let now = 0;
    const ok = () => listenHttp((_req, res) => res.end('ok'), closers);
    const servers = [await ok(), await ok(), await ok()];
    const { b, url } = await startBalancer(
      servers.map((s) => s.url),
      // The run's clock is the test's: expiry is exact, whatever the machine's pace.
      { sticky: { mode: 'ip', ttlMs: 500, size: 1000 }, health: { ...HEALTH, path: '/' }, clock: () => now },
    );
    const agents = addresses.map((a) => agent(a));
    const first: string[] = [];
    for (const a of agents) first.push((await get(url, a)).backend!);
    expect(distinct(first).sort()).toEqual(['b1', 'b2', 'b3']);
    expect(b.sticky!.entries()).toBe(6);
    // In the opposite order round robin alone would deal them differently; the table keeps each where it was.
    for (let round = 0; round < 3; round++) {
      for (let i = agents.length - 1; i >= 0; i--) expect((await get(url, agents[i]!)).backend).toBe(first[i]);
    }
    // One client keeps coming every 100 ms for 1.2 s, the others go quiet: only their entries expire.
    const keeper = agents[0]!;
    for (let k = 0; k < 12; k++) {
      expect((await get(url, keeper)).backend).toBe(first[0]);
      now += 100;
    }
    // Expired: balanced anew (round robin, in reverse order), so some land elsewhere, and stuck again.
    const again: string[] = [];
    for (let i = agents.length - 1; i >= 1; i--) again[i] = (await get(url, agents[i]!)).backend!;
    expect(b.sticky!.entries()).toBe(6);
    expect(again.filter((x, i) => x !== first[i]).length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < agents.length; i++) expect((await get(url, agents[i]!)).backend).toBe(again[i]);
  });

  it('entries of a backend gone DOWN are re-stuck on the backend the re-balance picks', async () => {
    const ok = () => listenHttp((_req, res) => res.end('ok'), closers);
    const servers = [await ok(), await ok(), await ok()];
    const { b, url, transitions } = await startBalancer(
      servers.map((s) => s.url),
      { sticky: { mode: 'ip', ttlMs: 60_000, size: 1000 }, health: { ...HEALTH, path: '/' } },
    );
    const agents = addresses.map((a) => agent(a));
    const first: string[] = [];
    for (const a of agents) first.push((await get(url, a)).backend!);
    await servers[1]!.close();
    await until(() => transitions.some((t) => t.backend === 'b2' && t.to === 'down'), 'b2 DOWN', TEN_SECONDS);
    const moved: string[] = [];
    for (const a of agents) moved.push((await get(url, a)).backend!);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < agents.length; i++) {
        const a = await get(url, agents[i]!);
        expect(a.status).toBe(200);
        expect(a.backend).toBe(moved[i]);
      }
    }
    first.forEach((f, i) => (f === 'b2' ? expect(moved[i]).not.toBe('b2') : expect(moved[i]).toBe(f)));
    expect(b.sticky!.entries()).toBe(6);
  });
});
