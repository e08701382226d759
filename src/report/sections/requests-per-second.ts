import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, SeriesBlock, Span } from '../blocks.js';
import { cellSizeMs } from '../chart-cells.js';
import { eventMarkers, placeMarkers, type TimedEvent } from '../event-markers.js';
import { formatAt } from '../format.js';

/** Per-backend req/s series over `[fromS, fromS + cells × cellS)` seconds of the time line, one mean per cell. */
function seriesBlock(r: RunRecord, events: readonly TimedEvent[], fromS: number, cells: number, cellS: number, caption?: Span[]): SeriesBlock {
  const series = r.backends.map((b) => {
    const values: number[] = [];
    for (let c = 0; c < cells; c++) {
      let sum = 0;
      let n = 0;
      for (let s = fromS + c * cellS; s < Math.min(r.timeline.length, fromS + (c + 1) * cellS); s++) {
        sum += r.timeline[s]?.perBackend[b.name] ?? 0;
        n++;
      }
      values.push(n > 0 ? Math.round(sum / n) : 0);
    }
    const own = r.timeline.slice(fromS, fromS + cells * cellS).map((p) => p.perBackend[b.name] ?? 0);
    const peak = Math.max(0, ...own);
    const mean = own.length > 0 ? Math.round(own.reduce((a, v) => a + v, 0) / own.length) : 0;
    return { name: b.name, values, peak, mean };
  });
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  return { kind: 'series', ...(caption ? { caption } : {}), startMs: fromS * 1000, cellMs: cellS * 1000, cells, max, series, markers: placeMarkers(events, fromS * 1000, cellS * 1000, cells) };
}

/**
 * Requests per second per backend over the whole run, with the events
 * marked; a run longer than `MAX_CELLS` seconds gets cells of several
 * seconds, and then also a window per marked event, from 3 s before to 5 s
 * after it, one cell per second.
 */
export function requestsPerSecondSection(r: RunRecord): Section | undefined {
  if (r.timeline.length === 0 || r.backends.length === 0) return undefined;
  const events = eventMarkers(r);
  const seconds = r.timeline.length;
  const cellMs = cellSizeMs(seconds);
  const cellS = cellMs / 1000;
  const blocks: Block[] = [seriesBlock(r, events, 0, Math.ceil(seconds / cellS), cellS)];
  if (cellS > 1) {
    for (const e of events) {
      const at = Math.floor(e.atMs / 1000);
      const from = Math.max(0, at - 3);
      const to = Math.min(seconds, at + 6);
      if (to <= from) continue;
      blocks.push(seriesBlock(r, [e], from, to - from, 1, [{ text: `${formatAt(e.atMs)} ${e.label}`, tone: 'strong' }, { text: ` (from ${formatAt(from * 1000)} to ${formatAt(to * 1000)})`, tone: 'dim' }]));
    }
  }
  const cell = cellS === 1 ? 'one cell per second' : `one cell per ${cellS}s (their mean)`;
  return { id: 'traffic', title: 'Requests per second', subtitle: `per backend, ${cell}, one scale for all; events marked`, blocks };
}
