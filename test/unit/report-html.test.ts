import { describe, expect, it } from 'vitest';
import { esc, renderHtml } from '../../src/report/render-html.js';
import { FAILED_LAB, fixture, makeRecord } from './report-fixtures.js';

/** How many times `needle` occurs in `hay`. */
function count(hay: string, needle: string | RegExp): number {
  return (hay.match(new RegExp(typeof needle === 'string' ? needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : needle.source, 'g')) ?? []).length;
}

describe('renderHtml', () => {
  const record = fixture('run-kill-detected');
  const html = renderHtml({ ...record, lab: FAILED_LAB });

  it('is one page that loads nothing: no script, no link, no src, no url(), and a CSP that forbids it', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import/i);
  });

  it('has a section per part of the report and the verdict last', () => {
    const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['summary', 'backends', 'tries', 'latency', 'traffic', 'health', 'failures', 'around', 'events', 'verdict']);
  });

  it('draws the charts as inline SVG: a bar per latency bucket, a row of columns per backend, a strip per backend', () => {
    expect(count(html, 'data-chart="latency-histogram"')).toBe(1);
    const buckets = record.totals.latencyBuckets.counts;
    const first = buckets.findIndex((n) => n > 0);
    const last = buckets.length - 1 - [...buckets].reverse().findIndex((n) => n > 0);
    expect(count(html, '<rect class="bar"')).toBe(last - first + 1);
    expect(count(html, 'data-chart="rps"')).toBe(1);
    expect(count(html, '<g class="series"')).toBe(3);
    expect(count(html, '<rect class="col"')).toBe(3 * record.timeline.length);
    expect(count(html, 'data-chart="health"')).toBe(1);
    expect(count(html, '<g class="strip"')).toBe(3);
    expect(count(html, '<rect class="seg down"')).toBe(1);
    // the kill and the slow, on both time charts
    expect(count(html, '<line class="marker"')).toBe(4);
  });

  it('has the same tables as the terminal report', () => {
    const backends = html.slice(html.indexOf('<section id="backends"'), html.indexOf('</section>', html.indexOf('<section id="backends"')));
    expect(count(backends, '<tr>')).toBe(1 + record.backends.length);
    expect(backends).toContain('<td>b2</td><td class="r">2</td>');
    expect(backends).toContain('<span class="tone-bad">DOWN</span>');
  });

  it('renders the verdict with ✓/✗ per expectation, expected vs measured', () => {
    const verdict = html.slice(html.indexOf('<section id="verdict"'));
    expect(verdict).toContain('class="verdict fail"');
    expect(verdict).toContain('<span class="badge">✗ failed</span> 1 of 2 expectations met');
    expect(verdict).toMatch(/<tr class="pass"><td class="mark">✓<\/td><td class="what">b2 marked down within 4s of its kill<\/td><td>≤ 4s<\/td><td>2\.1s<\/td><\/tr>/);
    expect(verdict).toContain('<tr class="fail"><td class="mark">✗</td>');
  });

  it('escapes every string from the record', () => {
    expect(html).toContain('1.2% &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Kill b2 &lt;mid-run&gt; &amp; keep | serving');
    const hostile = makeRecord({
      seconds: 3,
      backends: ['b"1'],
      events: [{ atMs: 1000, type: 'kill', target: 'b"1', detail: `"><svg onload=alert(1)> ' &` }],
    });
    const page = renderHtml(hostile);
    expect(page).not.toContain('<svg onload');
    expect(page).toContain('data-backend="b&quot;1"');
    expect(page).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt; &#39; &amp;');
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
