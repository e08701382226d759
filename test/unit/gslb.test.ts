import { describe, expect, it } from 'vitest';
import { describeGslbChange, gslbAnswers } from '../../src/balancer/gslb.js';
import { pathNamer } from '../../src/scenario/field-error.js';
import { clientHomes, resolveGslb, resolveRegions, type GslbConfig } from '../../src/scenario/regions.js';
import { resolveScenario } from '../../src/scenario/resolve.js';

/** The GSLB tier's answers and the scenario fields that set it up (pure functions: no process needed). */

const names = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
const regions = resolveRegions(['us=b1,b2', 'eu=b3,b4', 'ap=b5,b6'], names, pathNamer)!;
const config = (policy: GslbConfig['policy']): GslbConfig => resolveGslb(regions, { gslb: policy, rtt: ['us-eu=80ms', 'eu-ap=150ms', 'us-ap=120ms'] }, pathNamer);
const homes = [0, 0, 1, 1, 2, 2];
const all = (): boolean => true;
const without = (...down: string[]) => (b: string) => !down.includes(b);
const one = (): number => 1;

describe('gslbAnswers', () => {
  it('geo: each client at home while its region has a healthy backend', () => {
    expect(gslbAnswers(config('geo'), homes, all, one)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(gslbAnswers(config('geo'), homes, without('b1'), one)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('geo: a region with no healthy backend sends its clients to the nearest other region', () => {
    // us: eu is 80 ms away, ap 120 ms → eu; ap: us 120, eu 150 → us.
    expect(gslbAnswers(config('geo'), homes, without('b1', 'b2'), one)).toEqual([1, 1, 1, 1, 2, 2]);
    expect(gslbAnswers(config('geo'), homes, without('b5', 'b6'), one)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(gslbAnswers(config('geo'), homes, without('b1', 'b2', 'b3', 'b4'), one)).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('failover: everyone to the first healthy region listed', () => {
    expect(gslbAnswers(config('failover'), homes, all, one)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(gslbAnswers(config('failover'), homes, without('b1', 'b2'), one)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('weighted: clients spread by the healthy weight of each region, and a dead region gets none', () => {
    const many = Array.from({ length: 3000 }, (_, i) => i % 3);
    const count = (answers: number[]) => [0, 1, 2].map((r) => answers.filter((a) => a === r).length / answers.length);
    const weights: Record<string, number> = { b1: 3, b2: 3, b3: 1, b4: 1, b5: 1, b6: 1 };
    const even = count(gslbAnswers(config('weighted'), many, all, (b) => weights[b]!));
    expect(even[0]).toBeCloseTo(0.6, 1);
    expect(even[1]).toBeCloseTo(0.2, 1);
    const usDown = count(gslbAnswers(config('weighted'), many, without('b1', 'b2'), (b) => weights[b]!));
    expect(usDown[0]).toBe(0);
    expect(usDown[1]).toBeCloseTo(0.5, 1);
  });

  it('no healthy region at all: everyone home (the balancer answers 503 there)', () => {
    expect(gslbAnswers(config('geo'), homes, () => false, one)).toEqual(homes);
  });

  it('describes a failover and a return in words', () => {
    const g = config('geo');
    const before = [0, 0, 1, 1, 2, 2];
    const away = [1, 1, 1, 1, 2, 2];
    expect(describeGslbChange(g, homes, before, away)).toEqual(['us clients → eu (us has no healthy backend)']);
    expect(describeGslbChange(g, homes, away, before)).toEqual(['us clients back in us']);
    expect(describeGslbChange(g, homes, before, before)).toEqual([]);
  });
});

describe('clientHomes', () => {
  it('places clients by largest remainder: 10 at 60/40 are 6 and 4, 7 at thirds are 3, 2, 2', () => {
    expect(clientHomes([0.6, 0.4], 10)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(clientHomes([1 / 3, 1 / 3, 1 / 3], 7).filter((h) => h === 0)).toHaveLength(3);
    expect(clientHomes([1 / 3, 1 / 3, 1 / 3], 7)).toHaveLength(7);
  });
});

describe('regions in a scenario', () => {
  const base = { backends: 4, regions: ['us=b1,b2', 'eu=b3,b4'], rtt: ['us-eu=80ms'] };

  it('each region becomes a pool routed by x-lblab-region, 20 clients by default, equal shares', () => {
    const s = resolveScenario(base);
    expect(s.routing?.pools.map((p) => [p.name, p.backends])).toEqual([
      ['us', ['b1', 'b2']],
      ['eu', ['b3', 'b4']],
    ]);
    expect(s.routing?.routes[0]!.match).toEqual({ header: { name: 'x-lblab-region', value: 'us' } });
    expect(s.clients).toBe(20);
    expect(s.gslb).toMatchObject({ policy: 'geo', clientShares: [0.5, 0.5], rttMs: [[1, 80], [80, 1]] });
  });

  it.each([
    [{ ...base, load: { 'client-regions': 'us=60%,asia=40%' } }, /`load.client-regions` to name regions given in `regions` \(us, eu\), got "asia"/],
    [{ ...base, load: { 'client-regions': 'us=60%,eu=30%' } }, /`load.client-regions` to have shares that sum to 100%, got 90%/],
    [{ ...base, rtt: ['us-ap=80ms'] }, /`rtt` to name a pair of regions \(us, eu\) as A-B, got "us-ap"/],
    [{ ...base, rtt: [] }, /`rtt` to give the round trip between every two regions, got none for us-eu/],
    [{ ...base, regions: ['us=b1,b2', 'eu=b3'] }, /`regions` to put every backend in a region, got b4 in none/],
    [{ ...base, regions: ['us=b1,b2', 'eu=b2,b3,b4'] }, /`regions` to put each backend in one region, got b2 in us and eu/],
    [{ ...base, gslb: 'nearest' }, /`gslb` to be one of geo, weighted, failover, got "nearest"/],
    [{ backends: 2, gslb: 'geo' }, /`gslb` only with `regions`, got it alone/],
    [{ ...base, balancer: { route: ['/api=b1'] } }, /`regions` or `balancer.route`, not both/],
    [{ ...base, balancer: { mode: 'tcp' } }, /`regions` only with `balancer.mode http`/],
  ])('refuses %j', (input, message) => {
    expect(() => resolveScenario(input)).toThrow(message);
  });
});
