import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { renderReport } from '../../src/report/render-report.js';

/** The lines of the section titled `title`, up to the next blank line. */
function section(lines: string[], title: string): string[] {
  const from = lines.findIndex((l) => l === title || l.startsWith(`${title} (`));
  expect(from, title).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf('', from);
  return lines.slice(from + 1, end < 0 ? undefined : end);
}

const record = JSON.parse(readFileSync(new URL('../fixtures/run-weighted-kill.json', import.meta.url), 'utf8')) as RunRecord;

describe('renderReport', () => {
  const text = renderReport(record, { color: false });
  const lines = text.split('\n');
  const row = (name: string): string => lines.find((l) => l.startsWith(`${name} `))!;

  it('heads with the command, algorithm, weights, concurrency and duration', () => {
    expect(lines[0]).toBe('lblab start · weighted (weights 3,2,1) · concurrency 16 · 6.0s');
  });

  it('prints totals: requests, rate, errors with their rate, retries, percentiles, status codes, transport errors', () => {
    expect(text).toContain('Requests 6000  req/s 1000  errors 12 (0.20%)  retries 640 (630 answered)');
    expect(text).toContain('p50 11.5ms  p90 17.3ms  p99 31.9ms  p99.9 60.1ms  max 75.4ms');
    expect(text).toContain('Status 200: 5990  502: 10');
    expect(text).toContain('Transport errors reset: 2');
  });

  it('has one row per backend with requests, share vs expected, latency, state, down time and changes', () => {
    expect(row('b1')).toMatch(/^b1\s+3\s+3600\s+60\.1%\/50\.0%\s+0\s+-\s+11\.2ms\s+16\.9ms\s+30\.2ms\s+70\.1ms\s+UP\s+-\s+0$/);
    expect(row('b2')).toMatch(/^b2\s+2\s+1100\s+18\.4%\/33\.3%\s+0\s+640\s+11\.9ms\s+18\.0ms\s+40\.0ms\s+75\.4ms\s+DOWN\s+2\.0s\s+1$/);
    expect(row('b3')).toMatch(/UP\s+-\s+0$/);
  });

  it('draws the latency histogram from the buckets, skipping empty ends', () => {
    expect(text).toMatch(/≤10ms █+\s+1900\s+31\.7%/);
    expect(text).toMatch(/≤100ms █*\s+18\s+0\.3%/);
    expect(text).not.toContain('≤1ms');
    expect(text).not.toContain('>2000ms');
  });

  it('shows the per-second series per backend on one scale, with the dip to zero after the kill and the kill marked', () => {
    const rows = section(lines, 'Requests per second');
    expect(rows[0]).toBe('       0s   5s');
    expect(rows[1]).toBe('b1     ▇▇████  peak 660/s  mean 600/s');
    // b2 at 333/s is half of b1's 660/s peak on the shared scale, then nothing once it is dead
    expect(rows[2]).toBe('b2     ▅▅▂▂··  peak 333/s  mean 153/s');
    expect(rows[4]).toBe('events   1');
    expect(rows[5]).toBe('       1 +2.0s kill b2');
  });

  it('draws a health strip per backend: UP, UP with the process dead until the second it went DOWN, then DOWN', () => {
    const rows = section(lines, 'Health');
    // killed at +2.0s, DOWN at +4.0s: two seconds UP with a dead process
    expect(rows.slice(1, 4)).toEqual(['b1     ██████  UP throughout', 'b2     ██xx▼·  DOWN 2.0s', 'b3     ██████  UP throughout']);
    expect(rows.at(-1)).toBe('       █ UP  · DOWN  x UP with its process dead (not noticed yet)  ▼▲ changed in that cell');
  });

  it('lists events and health transitions once each, in time order', () => {
    expect(section(lines, 'Events')).toEqual([
      '   at  event  backend  detail',
      '+2.0s  kill   b2       SIGKILL pid 4242 (event)',
      '+4.0s  down   b2       3 failed checks, last L4CON',
    ]);
  });

  it('uses colour only when asked', () => {
    expect(text).not.toMatch(/\u001b\[/);
    expect(renderReport(record, { color: true })).toMatch(/\u001b\[/);
  });
});

describe('renderReport: failures, tries, checks and the dip around each fault', () => {
  const detected = JSON.parse(readFileSync(new URL('../fixtures/run-kill-detected.json', import.meta.url), 'utf8')) as RunRecord;
  const text = renderReport(detected, { color: false });
  const lines = text.split('\n');

  it('stays within 100 columns', () => {
    // the histogram bars are the widest lines; every line counts in characters, not bytes
    for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(100);
  });

  it('has a table of tries served / retried / lost and check results by name per backend', () => {
    const rows = section(lines, 'Tries and checks');
    expect(rows[0]).toMatch(/^backend\s+served\s+retried\s+lost\s+checks$/);
    expect(rows.find((l) => l.startsWith('b2 '))).toMatch(/^b2\s+1500\s+628\s+12\s+L7OK 3, L4CON 5$/);
    expect(rows.find((l) => l.startsWith('b1 '))).toMatch(/^b1\s+5400\s+0\s+0\s+L7OK 9$/);
  });

  it('says in words what noticed each fault, after how long, and what it cost', () => {
    expect(section(lines, 'Failures')).toEqual([
      '+3.0s kill b2 → DOWN after 2.9s (3 failed checks, last L4CON)',
      '  client errors +3s–+6s (all backends): 12 · b2 over the run: retried 628, lost 12',
      '+6.0s slow b3 → not noticed (no DOWN, ejection or open circuit before the end or a recover)',
      '  b3 over the run: retried 0, lost 0',
    ]);
  });

  it('shows req/s, errors and every backend second by second around the kill (not the slow: not a dip event)', () => {
    const rows = section(lines, 'Around each fault');
    expect(rows).toEqual([
      '+3.0s kill b2',
      '  second    -3    -2    -1     0    +1    +2    +3    +4    +5',
      '  req/s   1000  1000  1000   995   996   997  1000  1000  1000',
      '  errors     0     0     0     5     4     3     0     0     0',
      '  b1       500   500   500   600   620   650   660   660   660',
      '  b2       333   333   333   150   100    40     0     0     0',
      '  b3       167   167   167   245   276   307   340   340   340',
    ]);
  });

  it('derives the failures of an older record (no detections) from its events, and clips the dip to the run', () => {
    expect(text).toContain('Failures');
    const old = renderReport(record, { color: false }).split('\n');
    const i = old.findIndex((l) => l.startsWith('Failures'));
    expect(old.slice(i + 1, i + 3)).toEqual(['+2.0s kill b2 → DOWN after 2.0s (3 failed checks, last L4CON)', '  client errors +2s–+5s (all backends): 12']);
    const j = old.findIndex((l) => l.startsWith('Around each fault'));
    expect(old[j + 2]).toBe('  second    -2    -1     0    +1    +2    +3');
    expect(old.some((l) => l.startsWith('Tries and checks'))).toBe(false);
  });
});
