import { describe, expect, it } from 'vitest';
import { ClientTally } from '../../src/load/client-tally.js';

describe('ClientTally', () => {
  it('counts per client and backend in the first epoch, from 0', () => {
    const t = new ClientTally();
    t.record(5, 0, 'b1');
    t.record(6, 0, 'b1');
    t.record(7, 1, 'b2');
    t.record(8, 1, 'b1');
    expect(t.epochs).toHaveLength(1);
    expect(t.epochs[0]!.startMs).toBe(0);
    expect(t.epochs[0]!.perClient).toEqual(
      new Map([
        [0, new Map([['b1', 2]])],
        [1, new Map([['b2', 1], ['b1', 1]])],
      ]),
    );
    expect(t.backendsPerClient(0)).toEqual({ clients: 2, singleBackend: 1, maxBackends: 2 });
    expect(t.dominantBackend(0, 0)).toBe('b1');
    // a tie goes to the name that sorts first
    expect(t.dominantBackend(0, 1)).toBe('b1');
    expect(t.dominantBackend(0, 9)).toBeUndefined();
  });

  it('attributes by completion time: a late batch from before the epoch goes to the old one', () => {
    const t = new ClientTally();
    t.record(900, 0, 'b1');
    const e1 = t.startEpoch(1000);
    // arrives after the epoch started but completed before it
    t.record(990, 0, 'b1');
    t.record(1010, 0, 'b2');
    t.record(1020, 1, 'b2');
    expect(t.epochs[0]!.perClient.get(0)).toEqual(new Map([['b1', 2]]));
    expect(e1.perClient.get(0)).toEqual(new Map([['b2', 1]]));
    expect(t.backendsPerClient()).toEqual({ clients: 2, singleBackend: 2, maxBackends: 1 });
    expect(t.backendsPerClient(e1)).toEqual(t.backendsPerClient(1));
    expect(t.dominantBackend(1, 0)).toBe('b2');
  });

  it('an epoch started in the recent past takes the samples already tallied after its start', () => {
    const t = new ClientTally();
    t.record(100, 0, 'b1');
    t.record(1500, 0, 'b2');
    t.record(1600, 1, 'b2');
    t.startEpoch(1000);
    expect(t.epochs[0]!.perClient).toEqual(new Map([[0, new Map([['b1', 1]])]]));
    expect(t.epochs[1]!.perClient).toEqual(
      new Map([
        [0, new Map([['b2', 1]])],
        [1, new Map([['b2', 1]])],
      ]),
    );
    expect(t.backendsPerClient(0)).toEqual({ clients: 1, singleBackend: 1, maxBackends: 1 });
    // and from a later epoch too
    t.startEpoch(1550);
    expect(t.epochs[1]!.perClient).toEqual(new Map([[0, new Map([['b2', 1]])]]));
    expect(t.epochs[2]!.perClient).toEqual(new Map([[1, new Map([['b2', 1]])]]));
  });

  it('refuses an epoch before the current one and an unknown index', () => {
    const t = new ClientTally();
    t.startEpoch(2000);
    expect(() => t.startEpoch(1000)).toThrow(RangeError);
    expect(() => t.backendsPerClient(5)).toThrow(RangeError);
  });

  it('stays exact over many samples', () => {
    const t = new ClientTally();
    for (let i = 0; i < 100_000; i++) t.record(i / 10, i % 50, `b${(i % 50) % 3}`);
    t.startEpoch(9000);
    let before = 0;
    let after = 0;
    for (const m of t.epochs[0]!.perClient.values()) for (const n of m.values()) before += n;
    for (const m of t.epochs[1]!.perClient.values()) for (const n of m.values()) after += n;
    expect(before + after).toBe(100_000);
    expect(after).toBe(10_000);
    expect(t.backendsPerClient(1)).toEqual({ clients: 50, singleBackend: 50, maxBackends: 1 });
    expect(t.dominantBackend(1, 4)).toBe('b1');
  });
});
