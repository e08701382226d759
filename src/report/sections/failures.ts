import { deriveDetections, type BackendRecord, type Detection, type RunRecord } from '../../metrics/run-record.js';
import { plain, type ListBlock, type Section, type Span } from '../blocks.js';
import { formatAt, formatDuration } from '../format.js';

const DETECTED_WORDS: Record<NonNullable<Detection['detectedBy']>, string> = { down: 'DOWN', ejected: 'ejected', 'breaker-open': 'circuit breaker open' };

/**
 * One item per fault (see `deriveDetections`): "+2.0s kill b2 → DOWN after
 * 2.9s (3 failed checks, last L4CON)", then what it cost: client errors (all
 * backends) in the whole seconds from the fault to its detection, from the
 * time line, and the backend's retried and lost tries — over the run, as the
 * record counts tries per backend, not per second. A record without
 * `detections` (older runs) has them derived from its events.
 */
export function failuresSection(r: RunRecord): Section | undefined {
  const found: Array<{ b: BackendRecord; d: Detection }> = [];
  for (const b of r.backends) for (const d of b.detections ?? deriveDetections(b.name, r.events, b.health.transitions)) found.push({ b, d });
  if (found.length === 0) return undefined;
  found.sort((x, y) => x.d.atMs - y.d.atMs);
  const items: ListBlock['items'] = found.map(({ b, d }) => {
    const line: Span[] = [plain(`${formatAt(d.atMs)} `), { text: d.fault, tone: 'bad' }, plain(` ${b.name} → `)];
    if ((d.detectedBy === null || d.afterMs === null) && r.config.engine === 'nginx') {
      line.push({ text: 'no DOWN', tone: 'warn' }, plain(' (nginx OSS has no active checks: it skips a backend after a failed try and retries the request elsewhere)'));
    } else if (d.detectedBy === null || d.afterMs === null) {
      line.push({ text: 'not noticed', tone: 'warn' }, plain(' (no DOWN, ejection or open circuit before the end or a recover)'));
    } else {
      line.push({ text: DETECTED_WORDS[d.detectedBy], tone: 'strong' }, plain(` after ${formatDuration(d.afterMs)}${d.reason ? ` (${d.reason})` : ''}`));
    }
    const cost: Span[] = [];
    if (d.afterMs !== null && r.timeline.length > 0) {
      const from = Math.floor(d.atMs / 1000);
      const to = Math.min(r.timeline.length - 1, Math.floor((d.atMs + d.afterMs) / 1000));
      let errors = 0;
      for (let s = from; s <= to; s++) errors += r.timeline[s]?.errors ?? 0;
      cost.push(plain(`client errors +${from}s–+${to + 1}s (all backends): `), errors > 0 ? { text: String(errors), tone: 'bad' } : plain('0'));
    }
    if (b.tries) cost.push(plain(`${cost.length > 0 ? ' · ' : ''}${b.name} over the run: retried ${b.tries.retried}, lost ${b.tries.lost}`));
    return { line, sub: cost.length > 0 ? [cost] : [] };
  });
  return { id: 'failures', title: 'Failures', subtitle: 'each fault, what noticed it and after how long', blocks: [{ kind: 'list', items }] };
}
