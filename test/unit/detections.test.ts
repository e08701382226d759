import { describe, expect, it } from 'vitest';
import { deriveDetections, type RunEvent } from '../../src/metrics/run-record.js';

const ev = (atMs: number, type: string, target?: string, detail?: string): RunEvent => ({ atMs, type, ...(target ? { target } : {}), ...(detail ? { detail } : {}) });

describe('deriveDetections (time to detect)', () => {
  it('a kill noticed by active checks: DOWN after the gap, with its reason', () => {
    const events = [ev(2000, 'kill', 'b2', 'SIGKILL pid 1 (event)'), ev(2100, 'kill', 'b1'), ev(4900, 'down', 'b2', '3 failed checks, last L4CON')];
    expect(deriveDetections('b2', events)).toEqual([{ fault: 'kill', atMs: 2000, detectedBy: 'down', afterMs: 2900, reason: '3 failed checks, last L4CON' }]);
  });

  it('takes whichever comes first of DOWN, ejected and breaker-open, on the same backend only', () => {
    const events = [
      ev(1000, 'errors', 'b2'),
      ev(1200, 'breaker-open', 'b1', 'other backend'),
      ev(1400, 'ejected', 'b2', '5 failures in a row'),
      ev(1500, 'breaker-open', 'b2'),
      ev(3000, 'down', 'b2'),
    ];
    expect(deriveDetections('b2', events)).toEqual([{ fault: 'errors', atMs: 1000, detectedBy: 'ejected', afterMs: 400, reason: '5 failures in a row' }]);
  });

  it('switching one fault off clears only that fault: the other is still detected', () => {
    const events = [ev(5000, 'hang', 'b2'), ev(6000, 'slow', 'b2'), ev(7000, 'slow-off', 'b2'), ev(8000, 'down', 'b2', 'L7TOUT')];
    expect(deriveDetections('b2', events)).toEqual([
      { fault: 'hang', atMs: 5000, detectedBy: 'down', afterMs: 3000, reason: 'L7TOUT' },
      { fault: 'slow', atMs: 6000, detectedBy: null, afterMs: null },
    ]);
  });

  it('null when the run ends first, or a recover or a restarted process of that backend comes first', () => {
    expect(deriveDetections('b2', [ev(1000, 'slow', 'b2')])).toEqual([{ fault: 'slow', atMs: 1000, detectedBy: null, afterMs: null }]);
    expect(deriveDetections('b2', [ev(1000, 'hang', 'b2'), ev(2000, 'recover', 'b2'), ev(2500, 'down', 'b2')])[0]).toMatchObject({ detectedBy: null, afterMs: null });
    expect(deriveDetections('b2', [ev(1000, 'kill', 'b2'), ev(1500, 'restart', 'b2'), ev(1900, 'started', 'b2'), ev(4000, 'down', 'b2')])[0]).toMatchObject({ detectedBy: null });
    // The restart is only asked for: until its process listens, checks still fail for the kill.
    expect(deriveDetections('b2', [ev(1000, 'kill', 'b2'), ev(3000, 'restart', 'b2'), ev(3200, 'down', 'b2'), ev(3400, 'started', 'b2')])[0]).toMatchObject({ detectedBy: 'down', afterMs: 2200 });
    // a recover of another backend does not end b2's window
    expect(deriveDetections('b2', [ev(1000, 'hang', 'b2'), ev(2000, 'recover', 'b1'), ev(4000, 'down', 'b2')])[0]).toMatchObject({ detectedBy: 'down', afterMs: 3000 });
  });

  it('one entry per fault event, each with its own detection, in time order whatever the log order', () => {
    const events = [ev(5000, 'breaker-open', 'b2'), ev(1000, 'health-fail', 'b2'), ev(4200, 'down', 'b2'), ev(4500, 'errors', 'b2'), ev(4600, 'up', 'b2')];
    expect(deriveDetections('b2', events).map((d) => [d.fault, d.detectedBy, d.afterMs])).toEqual([
      ['health-fail', 'down', 3200],
      ['errors', 'breaker-open', 500],
    ]);
  });

  it('ignores events that are not faults: weight, draining, remove', () => {
    const events = [ev(1000, 'weight', 'b2'), ev(1100, 'draining', 'b2'), ev(1200, 'remove', 'b2'), ev(2000, 'down', 'b2')];
    expect(deriveDetections('b2', events)).toEqual([]);
  });

  it('reads DOWN from the health transitions when it was not logged as an event (balance)', () => {
    const d = deriveDetections('b1', [ev(1000, 'exit', 'b1')], [{ atMs: 3400.6, from: 'up', to: 'down', reason: '3 failed checks, last L4CON' }]);
    expect(d).toEqual([{ fault: 'exit', atMs: 1000, detectedBy: 'down', afterMs: 2401, reason: '3 failed checks, last L4CON' }]);
  });
});

describe('run record schema and detections', () => {
  it('accepts records without detections (older runs) and with them; rejects a wrong detectedBy', async () => {
    const { readFileSync } = await import('node:fs');
    const { runRecordSchema } = await import('../../src/metrics/run-record-schema.js');
    const old = JSON.parse(readFileSync(new URL('../fixtures/run-weighted-kill.json', import.meta.url), 'utf8')) as { backends: Array<Record<string, unknown>> };
    expect(runRecordSchema.safeParse(old).success).toBe(true);
    old.backends[1]!.detections = [{ fault: 'kill', atMs: 2000, detectedBy: 'down', afterMs: 2000, reason: '3 failed checks, last L4CON' }, { fault: 'slow', atMs: 1, detectedBy: null, afterMs: null }];
    expect(runRecordSchema.safeParse(old).success).toBe(true);
    old.backends[1]!.detections = [{ fault: 'kill', atMs: 2000, detectedBy: 'noticed', afterMs: 2000 }];
    expect(runRecordSchema.safeParse(old).success).toBe(false);
  });
});
