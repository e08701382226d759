import { describe, expect, it } from 'vitest';
import { splitPerBackend } from '../../src/cli/parse.js';
import { parseLatency } from '../../src/scenario/latency-profile.js';
import { parseEvent } from '../../src/scenario/timeline.js';
import { parseDuration, parseInteger, parseWeights } from '../../src/scenario/values.js';
import { UsageError } from '../../src/errors.js';

describe('durations', () => {
  it('reads 500ms, 5s, 2m, 1.5s', () => {
    expect(parseDuration('--duration', '500ms')).toBe(500);
    expect(parseDuration('--duration', '5s')).toBe(5000);
    expect(parseDuration('--duration', '2m')).toBe(120_000);
    expect(parseDuration('--duration', '1.5s')).toBe(1500);
  });

  it('refuses negative, unitless, unparsable and zero (unless allowed) durations, naming the flag', () => {
    for (const bad of ['-5s', '10', 'abc', '', '5 parsecs']) {
      expect(() => parseDuration('--duration', bad)).toThrow(UsageError);
    }
    expect(() => parseDuration('--duration', '0s')).toThrow(/`--duration`/);
    expect(parseDuration('--event', '0s', { allowZero: true })).toBe(0);
  });
});

describe('weights', () => {
  it('reads one whole weight per backend', () => {
    expect(parseWeights('--weights', '5,1,1', 3)).toEqual([5, 1, 1]);
    expect(parseWeights('--weights', ' 3, 2 ,1', 3)).toEqual([3, 2, 1]);
  });

  it('says how many values it expected', () => {
    expect(() => parseWeights('--weights', '1,2', 3)).toThrow('Expected `--weights` to have 3 values (one per backend), got 2');
  });

  it('refuses zero, negative and fractional weights', () => {
    for (const bad of ['0,1,1', '-1,1,1', '1.5,1,1', 'a,b,c']) expect(() => parseWeights('--weights', bad, 3)).toThrow(UsageError);
  });
});

describe('integers, latency and per-backend values', () => {
  it('bounds whole numbers', () => {
    expect(parseInteger('--backends', '3', 1, 16)).toBe(3);
    for (const bad of ['0', '99', 'abc', '2.5', '']) expect(() => parseInteger('--backends', bad, 1, 16)).toThrow(/`--backends`/);
  });

  it('reads fixed and uniform latency', () => {
    expect(parseLatency('--latency', '20ms')).toEqual({ kind: 'fixed', ms: 20 });
    expect(parseLatency('--latency', '10ms-30ms')).toEqual({ kind: 'uniform', minMs: 10, maxMs: 30 });
    expect(() => parseLatency('--latency', '30ms-10ms')).toThrow(/low to high/);
  });

  it('splits name=value', () => {
    expect(splitPerBackend('b4=200ms')).toEqual({ name: 'b4', value: '200ms' });
    expect(splitPerBackend('200ms')).toEqual({ name: undefined, value: '200ms' });
  });
});

describe('events', () => {
  const algos = ['round-robin', 'p2c'];
  it('reads "<at> kill|restart|remove|drain <backend>"', () => {
    expect(parseEvent('--event', '3s drain b1', ['b1'], algos)).toEqual({ atMs: 3000, action: 'drain', target: 'b1' });
    expect(parseEvent('--event', '10s kill b2', ['b1', 'b2'], algos)).toEqual({ atMs: 10_000, action: 'kill', target: 'b2' });
    expect(parseEvent('--event', '0s restart b1', ['b1'], algos)).toEqual({ atMs: 0, action: 'restart', target: 'b1' });
    expect(parseEvent('--event', '5s remove b1', ['b1'], algos)).toEqual({ atMs: 5000, action: 'remove', target: 'b1' });
  });

  it('reads fault events with values: slow ×k or +d, errors rate[:status], degrade rate', () => {
    const ev = (v: string) => parseEvent('--event', v, ['b1', 'b2'], algos);
    expect(ev('1s slow b2')).toEqual({ atMs: 1000, action: 'slow', target: 'b2' });
    expect(ev('1s slow b2=x5')).toEqual({ atMs: 1000, action: 'slow', target: 'b2', faults: { slowFactor: 5, slowAddMs: 0 } });
    expect(ev('1s slow b2=+200ms')).toEqual({ atMs: 1000, action: 'slow', target: 'b2', faults: { slowFactor: 1, slowAddMs: 200 } });
    expect(ev('1s errors b1=0.2')).toEqual({ atMs: 1000, action: 'errors', target: 'b1', faults: { errorRate: 0.2, errorStatus: 500 } });
    expect(ev('1s errors b1=0.2:503')).toEqual({ atMs: 1000, action: 'errors', target: 'b1', faults: { errorRate: 0.2, errorStatus: 503 } });
    expect(ev('1s degrade b1=50ms')).toEqual({ atMs: 1000, action: 'degrade', target: 'b1', faults: { degradeMsPerSecond: 50 } });
    expect(() => ev('1s slow b2=fast')).toThrow(/`--event` slow to read <backend>=x<factor> or <backend>=\+<duration>/);
    expect(() => ev('1s errors b2=0.2:404')).toThrow(/`--event` errors to read <backend>=<rate>\[:500\|503\]/);
    expect(() => ev('1s errors b2=2')).toThrow(/`--event errors` to be a number from 0 to 1/);
    expect(() => ev('1s slow b9=x2')).toThrow(/backend to be one of b1, b2, got "b9"/);
  });

  it('reads "<at> weight <backend>=<n>" and "<at> algo <name>"', () => {
    expect(parseEvent('--event', '10s weight b1=5', ['b1'], algos)).toEqual({ atMs: 10_000, action: 'weight', target: 'b1', weight: 5 });
    expect(parseEvent('--event', '2s algo p2c', ['b1'], algos)).toEqual({ atMs: 2000, action: 'algo', algo: 'p2c' });
  });

  it('reads each fault, switched on, and "<at> recover <backend>"', () => {
    for (const action of ['slow', 'errors', 'health-fail', 'hang', 'reset', 'degrade', 'recover'] as const) {
      expect(parseEvent('--event', `10s ${action} b2`, ['b1', 'b2'], algos)).toEqual({ atMs: 10_000, action, target: 'b2' });
    }
    expect(parseEvent('--event', ' 1500ms  hang  b1 ', ['b1'], algos)).toEqual({ atMs: 1500, action: 'hang', target: 'b1' });
  });

  it('names the flag when a fault event is wrong: unknown backend, missing backend, bad time', () => {
    expect(() => parseEvent('--event', '1s hang b9', ['b1', 'b2'], algos)).toThrow('Expected `--event` backend to be one of b1, b2, got "b9"');
    expect(() => parseEvent('--event', '1s degrade', ['b1'], algos)).toThrow(/`--event` to read .*"<at> slow\|errors\|health-fail\|hang\|reset\|degrade\|recover <backend>"/);
    expect(() => parseEvent('--event', 'soon reset b1', ['b1'], algos)).toThrow(/`--event`.*got "soon"/);
    expect(() => parseEvent('--event', '1s Hang b1', ['b1'], algos)).toThrow(/`--event` action to be one of .*hang, reset, degrade, recover/);
  });

  it('names what is wrong: action, backend, shape, weight, algorithm', () => {
    expect(() => parseEvent('--event', '10s explode b2', ['b2'], algos)).toThrow(
      'Expected `--event` action to be one of kill, restart, remove, drain, slow, errors, health-fail, hang, reset, degrade, recover, weight, algo, got "explode"',
    );
    expect(() => parseEvent('--event', '10s kill b9', ['b1', 'b2'], algos)).toThrow(/backend to be one of b1, b2, got "b9"/);
    expect(() => parseEvent('--event', 'kill b2', ['b2'], algos)).toThrow(/<at> kill\|restart\|remove\|drain <backend>/);
    expect(() => parseEvent('--event', '1s weight b1', ['b1'], algos)).toThrow(/<backend>=<n> like b1=5/);
    expect(() => parseEvent('--event', '1s weight b1=0', ['b1'], algos)).toThrow(/`--event weight` to be a whole number from 1 to 1000/);
    expect(() => parseEvent('--event', '1s algo fastest', ['b1'], algos)).toThrow(/algorithm to be one of round-robin, p2c, got "fastest"/);
  });
});
