import type { RunRecord } from '../../metrics/run-record.js';
import type { Section } from '../blocks.js';
import { algorithmPeriodsSection } from './algorithm-periods.js';
import { aroundFaultsSection } from './around-faults.js';
import { backendsSection } from './backends.js';
import { balancersSection } from './balancers.js';
import { connectionsSection } from './connections.js';
import { eventLogSection } from './event-log.js';
import { failuresSection } from './failures.js';
import { healthTimelineSection } from './health-timeline.js';
import { latencyHistogramSection } from './latency-histogram.js';
import { regionsSection } from './regions.js';
import { requestsPerSecondSection } from './requests-per-second.js';
import { sessionsSection } from './sessions.js';
import { summarySection } from './summary.js';
import { triesAndChecksSection } from './tries-and-checks.js';
import { upstreamConnectionsSection } from './upstream-connections.js';
import { webSocketsSection } from './websockets.js';

/**
 * Builds one section of the report from a run record, a pure function;
 * undefined when the record has nothing for that section (a `load` run has
 * no health, an HTTP run no connections).
 */
export type SectionBuilder = (record: RunRecord) => Section | undefined;

/**
 * The report's sections in reading order: what happened overall, then per
 * backend, then over time, then what went wrong and when. Adding a section
 * is a file in this folder and a line here.
 */
export const SECTIONS: readonly SectionBuilder[] = [
  summarySection,
  aboutRequests(backendsSection),
  balancersSection,
  regionsSection,
  connectionsSection,
  aboutRequests(upstreamConnectionsSection),
  webSocketsSection,
  sessionsSection,
  triesAndChecksSection,
  algorithmPeriodsSection,
  aboutRequests(latencyHistogramSection),
  aboutRequests(requestsPerSecondSection),
  healthTimelineSection,
  failuresSection,
  aboutRequests(aroundFaultsSection),
  eventLogSection,
];

/** A section about HTTP requests, left out of a run of WebSocket clients (`webSocketClients`), which sent none: its tables would be all zeros. */
function aboutRequests(section: SectionBuilder): SectionBuilder {
  return (r) => (r.webSocketClients ? undefined : section(r));
}
