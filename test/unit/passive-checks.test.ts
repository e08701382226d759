import { describe, expect, it } from 'vitest';
import { CircuitBreaker, OutlierDetector } from '../../src/balancer/passive/passive-checks.js';

describe('outlier ejection, nginx max_fails / fail_timeout', () => {
  it('max_fails failures inside fail_timeout take the backend out for fail_timeout', () => {
    const o = new OutlierDetector({ mode: 'nginx', maxFails: 3, failTimeoutMs: 10_000 });
    expect(o.observe(false, 0, true)).toBeUndefined();
    expect(o.observe(true, 100, true)).toBeUndefined();
    expect(o.observe(false, 200, true)).toBeUndefined();
    const change = o.observe(false, 300, true);
    expect(change?.type).toBe('ejected');
    expect(o.ejected).toBe(true);
    expect(o.nextChangeAtMs()).toBe(10_300);
    expect(o.tick(10_299)).toBeUndefined();
    expect(o.tick(10_300)?.type).toBe('readmitted');
    expect(o.ejected).toBe(false);
  });

  it('failures further apart than fail_timeout do not add up', () => {
    const o = new OutlierDetector({ mode: 'nginx', maxFails: 2, failTimeoutMs: 1000 });
    expect(o.observe(false, 0, true)).toBeUndefined();
    expect(o.observe(false, 1500, true)).toBeUndefined();
    expect(o.observe(false, 2000, true)?.type).toBe('ejected');
  });
});

describe('outlier ejection, Envoy consecutive_5xx', () => {
  it('ejects after N failures in a row, a success in between starts the count again', () => {
    const o = new OutlierDetector({ mode: 'envoy', consecutive: 3, baseEjectionMs: 1000, maxEjectionPercent: 100 });
    o.observe(false, 0, true);
    o.observe(false, 1, true);
    o.observe(true, 2, true);
    o.observe(false, 3, true);
    o.observe(false, 4, true);
    expect(o.ejected).toBe(false);
    expect(o.observe(false, 5, true)?.type).toBe('ejected');
    expect(o.ejectedUntilMs).toBe(1005);
  });

  it('each ejection lasts base × n, and the cap can hold an ejection back', () => {
    const o = new OutlierDetector({ mode: 'envoy', consecutive: 1, baseEjectionMs: 1000, maxEjectionPercent: 10 });
    o.observe(false, 0, true);
    expect(o.ejectedUntilMs).toBe(1000);
    o.tick(1000);
    o.observe(false, 1000, true);
    expect(o.ejectedUntilMs).toBe(3000);
    o.tick(3000);
    o.observe(false, 3000, true);
    expect(o.ejectedUntilMs).toBe(6000);
    o.tick(6000);
    expect(o.observe(false, 6000, false)).toBeUndefined();
    expect(o.ejected).toBe(false);
    expect(o.ejections).toBe(3);
  });

  it('off never ejects', () => {
    const o = new OutlierDetector({ mode: 'off' });
    for (let i = 0; i < 100; i++) expect(o.observe(false, i, true)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('closed → open after N failures in a row → half-open after the cool-down → one probe decides', () => {
    const b = new CircuitBreaker({ failures: 2, cooldownMs: 500 });
    expect(b.allows).toBe(true);
    b.observe(false, 0);
    expect(b.state).toBe('closed');
    expect(b.observe(false, 10)?.type).toBe('breaker-open');
    expect(b.allows).toBe(false);
    expect(b.tick(509)).toBeUndefined();
    expect(b.tick(510)?.type).toBe('breaker-half-open');
    expect(b.allows).toBe(true);
    b.onSend();
    // One probe at a time.
    expect(b.allows).toBe(false);
    expect(b.observe(false, 600, true)?.type).toBe('breaker-open');
    expect(b.nextChangeAtMs()).toBe(1100);
    b.tick(1100);
    b.onSend();
    expect(b.observe(true, 1200, true)?.type).toBe('breaker-closed');
    expect(b.allows).toBe(true);
    expect(b.opened).toBe(2);
  });

  it('a probe whose client left frees the half-open slot for the next request', () => {
    const b = new CircuitBreaker({ failures: 1, cooldownMs: 100 });
    b.observe(false, 0);
    b.tick(100);
    b.onSend();
    expect(b.allows).toBe(false);
    b.onAbandoned();
    expect(b.allows).toBe(true);
  });

  it('while not closed only the probe counts: an old try ending, or a non-probe leaving, changes nothing', () => {
    const b = new CircuitBreaker({ failures: 1, cooldownMs: 100 });
    b.observe(false, 0);
    // A try sent before the circuit opened ends while it is open: ignored.
    expect(b.observe(true, 50)).toBeUndefined();
    expect(b.state).toBe('open');
    b.tick(100);
    expect(b.onSend()).toBe(true);
    // Only one probe: the next send is not one.
    expect(b.onSend()).toBe(false);
    // An old try succeeding in half-open does not close it; only the probe does.
    expect(b.observe(true, 120)).toBeUndefined();
    expect(b.state).toBe('half-open');
    expect(b.observe(true, 130, true)?.type).toBe('breaker-closed');
  });
});
