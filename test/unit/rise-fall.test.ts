import { describe, expect, it } from 'vitest';
import { RiseFall } from '../../src/balancer/health/rise-fall.js';

describe('rise/fall as in HAProxy check', () => {
  it('starts fully UP and needs `fall` consecutive failures to go DOWN', () => {
    const h = new RiseFall(2, 3);
    expect(h.state).toBe('up');
    expect(h.display).toBe('3/3');
    expect(h.observe(false)).toBeUndefined();
    expect(h.display).toBe('2/3');
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBe('down');
    expect(h.state).toBe('down');
    expect(h.display).toBe('0/2');
  });

  it('needs `rise` consecutive passes to come back UP, then jumps to the top', () => {
    const h = new RiseFall(2, 3);
    for (let i = 0; i < 3; i++) h.observe(false);
    expect(h.observe(true)).toBeUndefined();
    expect(h.display).toBe('1/2');
    expect(h.observe(true)).toBe('up');
    expect(h.display).toBe('3/3');
    // fully up again: it takes all three failures once more
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBe('down');
  });

  it('a pass between failures resets the count while UP; a failure while rising drops to 0', () => {
    const h = new RiseFall(2, 3);
    h.observe(false);
    h.observe(false);
    h.observe(true);
    expect(h.display).toBe('3/3');
    h.observe(false);
    h.observe(false);
    h.observe(false);
    h.observe(true);
    expect(h.observe(false)).toBeUndefined();
    expect(h.display).toBe('0/2');
    expect(h.state).toBe('down');
  });

  it('rise 1 / fall 1 flip on every result', () => {
    const h = new RiseFall(1, 1);
    expect(h.observe(false)).toBe('down');
    expect(h.observe(true)).toBe('up');
  });

  it('refuses a zero rise or fall', () => {
    expect(() => new RiseFall(0, 3)).toThrow(RangeError);
    expect(() => new RiseFall(2, 0)).toThrow(RangeError);
  });
});
