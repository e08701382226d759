import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClients, type VirtualClientsOptions } from '../../src/load/virtual-clients.js';

const BASE: VirtualClientsOptions = { url: 'http://127.0.0.1:9/start?x=1', cookies: true, insecure: false, headers: [], paths: [] };

describe('VirtualClients', () => {
  let made: VirtualClients[] = [];
  const make = (options: Partial<VirtualClientsOptions>): VirtualClients => {
    const clients = new VirtualClients({ ...BASE, ...options });
    made.push(clients);
    return clients;
  };
  afterEach(async () => {
    await Promise.all(made.map((c) => c.destroy()));
    made = [];
  });

  it('takes the clients of its range in turn, and without clients always the one default client', () => {
    const three = make({ clients: { first: 10, count: 3, spread: false, maxOpen: 3 } });
    expect([three.take(), three.take(), three.take(), three.take()]).toEqual([0, 1, 2, 0]);
    expect(three.first).toBe(10);
    const one = make({});
    expect([one.take(), one.take()]).toEqual([0, 0]);
    expect(one.first).toBe(0);
  });

  it('each client walks every path in turn on its own; no paths means the URL’s path and query', () => {
    const clients = make({ clients: { first: 0, count: 2, spread: false, maxOpen: 2 }, paths: ['/a', '/b', '/c'] });
    expect([clients.nextPath(0), clients.nextPath(0), clients.nextPath(1), clients.nextPath(0)]).toEqual(['/a', '/b', '/a', '/c']);
    expect(make({}).nextPath(0)).toBe('/start?x=1');
  });

  it('headers: {client} is the run-wide 1-based number; the jar’s cookie joins a --header cookie or is added', () => {
    const clients = make({ clients: { first: 4, count: 2, spread: false, maxOpen: 2 }, headers: [{ name: 'x-client', value: 'c{client}-{seq}' }] });
    expect(clients.headersFor(1, 7, undefined)).toEqual(['x-client', 'c6-7']);
    expect(clients.headersFor(0, 8, 'SERVERID=b1')).toEqual(['x-client', 'c5-8', 'cookie', 'SERVERID=b1']);
    const withCookie = make({ headers: [{ name: 'Cookie', value: 'a=1' }] });
    expect(withCookie.headersFor(0, 1, 'b=2')).toEqual(['Cookie', 'a=1; b=2']);
    expect(withCookie.headersFor(0, 2, undefined)).toEqual(['Cookie', 'a=1']);
  });

  it('one jar per client, kept across calls; none with cookies off', () => {
    const clients = make({ clients: { first: 0, count: 2, spread: false, maxOpen: 2 } });
    expect(clients.jarFor(0)).toBe(clients.jarFor(0));
    expect(clients.jarFor(1)).not.toBe(clients.jarFor(0));
    expect(make({ cookies: false }).jarFor(0)).toBeUndefined();
    expect(make({ url: 'https://127.0.0.1:9/' }).secure).toBe(true);
  });

  it('past maxOpen the least recently used client’s dispatcher is closed; that client opens a new one later', () => {
    const clients = make({ clients: { first: 0, count: 3, spread: false, maxOpen: 2 } });
    const d0 = clients.dispatcherFor(0);
    const d1 = clients.dispatcherFor(1);
    expect(clients.dispatcherFor(0)).toBe(d0);
    clients.dispatcherFor(2);
    expect(clients.dispatcherFor(0)).toBe(d0);
    expect(clients.dispatcherFor(1)).not.toBe(d1);
  });
});
