import { describe, expect, it } from 'vitest';
import { VirtualClients } from '../../src/load/virtual-clients.js';
import { resolveClients } from '../../src/scenario/load.js';
import { flagOf } from '../../src/cli/options.js';

/** The clients of a worker with `weights` over its range, as the load worker makes them. */
function clientsWith(weights?: number[]) {
  const count = weights?.length ?? 4;
  return new VirtualClients({
    url: 'http://127.0.0.1:9/',
    clients: { first: 0, count, spread: false, maxOpen: 100, ...(weights ? { weights } : {}) },
    cookies: false,
    insecure: false,
    headers: [],
    paths: [],
  });
}

describe('virtual clients that send at different rates (--client-weights)', () => {
  it('take the clients in a smooth weighted turn: 7:1:1:1 gives client 1 seven of every ten, never more than four in a row', () => {
    const c = clientsWith([7, 1, 1, 1]);
    const order = Array.from({ length: 1000 }, () => c.take());
    const counts = [0, 1, 2, 3].map((i) => order.filter((x) => x === i).length);
    expect(counts).toEqual([700, 100, 100, 100]);
    expect(order.join('')).not.toContain('00000');
  });

  it('without weights, each client in turn', () => {
    const c = clientsWith();
    expect(Array.from({ length: 8 }, () => c.take())).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('are read from the flag, one whole weight per client, or refused naming it', () => {
    expect(resolveClients({ clients: 3, 'client-weights': '5,1,1' }, flagOf).clientWeights).toEqual([5, 1, 1]);
    expect(() => resolveClients({ 'client-weights': '5,1' }, flagOf)).toThrow('Expected `--client-weights` only with `--clients N`, got it alone');
    expect(() => resolveClients({ clients: 3, 'client-weights': '5,1' }, flagOf)).toThrow(/`--client-weights` to give one weight per client \(3\), got 2/);
    expect(() => resolveClients({ clients: 2, 'client-weights': '5,0' }, flagOf)).toThrow(/`--client-weights` to be a whole number from 1 to 1000, got "0"/);
  });
});
