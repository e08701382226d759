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

  it('attributes by send time: a late batch from before the epoch goes to the old one', () => {
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

  it('a request in flight when an epoch starts counts in it, whether it was tallied before or after the start', () => {
    const t = new ClientTally();
    // sent at 990, completed at 1010: the change at 1000 may have reached the balancer before it picked
    t.record(990, 0, 'b2', 1010);
    t.record(980, 1, 'b1', 995);
    t.startEpoch(1000);
    t.record(995, 2, 'b3', 1020);
    t.record(996, 3, 'b1', 999);
    expect(t.epochs[0]!.perClient).toEqual(
      new Map([
        [1, new Map([['b1', 1]])],
        [3, new Map([['b1', 1]])],
      ]),
    );
    expect(t.epochs[1]!.perClient).toEqual(
      new Map([
        [0, new Map([['b2', 1]])],
        [2, new Map([['b3', 1]])],
      ]),
    );
    // A later epoch takes what crossed its own start, not what crossed the one before.
    t.record(900, 4, 'b1', 1300);
    t.record(1100, 5, 'b4', 1300);
    t.record(1100, 6, 'b4', 1200);
    t.startEpoch(1250);
    expect(t.epochs[1]!.perClient.get(4)).toEqual(new Map([['b1', 1]]));
    expect(t.epochs[2]!.perClient).toEqual(new Map([[5, new Map([['b4', 1]])]]));
    expect(t.epochs[1]!.perClient.get(6)).toEqual(new Map([['b4', 1]]));
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
