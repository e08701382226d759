import type { LabVerdict, RunRecord } from '../metrics/run-record.js';
import type { Section } from './blocks.js';
import { formatDuration, formatRate } from './format.js';
import { SECTIONS } from './sections/index.js';
import { visibleStrings } from './visible-text.js';

/**
 * The report as data: what every renderer (text, Markdown, HTML) shows, in
 * order. `verdict` is the lab's verdict, rendered last, when the run was a lab.
 */
export type ReportModel = { title: string; sections: Section[]; verdict?: LabVerdict };

/**
 * Builds the report model of a run record: a pure function that asks each
 * builder of {@link SECTIONS} in turn and keeps the sections it returns (a
 * builder returns undefined when the record has nothing for its section), so
 * the report reads in the order of that list; the lab verdict (when present)
 * comes after all of them.
 */
export function buildReportModel(written: RunRecord): ReportModel {
  // A record may come from anywhere (lblab report FILE): its strings are shown, never obeyed.
  const record = visibleStrings(written);
  const sections = SECTIONS.map((build) => build(record)).filter((s): s is Section => s !== undefined);
  return { title: titleLine(record), sections, ...(record.lab ? { verdict: record.lab } : {}) };
}

/** The report's title: the command, then the settings that tell this run from another (`lblab start · weighted (weights 3,2,1) · concurrency 16 · 9.0s`). */
function titleLine(r: RunRecord): string {
  const parts = [`lblab ${r.config.command}`];
  if (r.config.mode === 'tcp') parts.push('tcp (L4)');
  if (r.config.algo) {
    const weighted = r.config.weights?.some((w) => w !== 1);
    parts.push(weighted ? `${r.config.algo} (weights ${r.config.weights!.join(',')})` : r.config.algo);
  }
  if (r.config.target) parts.push(r.config.target);
  if (r.config.routes) parts.push(`${new Set(r.config.routes.map((x) => x.pool)).size} pools`);
  if (r.totals.gslb) parts.push(`GSLB ${r.totals.gslb.policy} over ${r.totals.gslb.regions.length} regions`);
  if (r.config.ha) parts.push(`2 balancers, ${r.config.ha.mode}`);
  if (r.config.tls) parts.push('TLS');
  if (r.config.http2) parts.push('HTTP/2');
  if (r.config.protocol === 'http2') parts.push(`HTTP/2 clients: ${r.config.connections} connection${r.config.connections === 1 ? '' : 's'} × ${r.config.streams} streams`);
  if (r.config.concurrency) parts.push(`concurrency ${r.config.concurrency}`);
  if (r.config.webSocket) parts.push(`${r.config.webSocket.clients} WebSocket clients, ${formatRate(r.config.webSocket.messageRate)} msg/s each`);
  if (r.config.rate) parts.push(`rate ${formatRate(r.config.rate)} req/s`);
  if (r.config.threads !== undefined) parts.push(`${r.config.threads} ${r.config.threads === 1 ? 'thread' : 'threads'}`);
  parts.push(formatDuration(r.durationMs));
  return parts.join(' · ');
}
