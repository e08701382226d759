import { z } from 'zod';
import { ALGORITHMS } from '../balancer/algorithms/index.js';
import { ENGINES } from '../engines/engines.js';
import { scenarioFileSchema } from '../scenario/input.js';
import { GSLB_POLICIES } from '../scenario/regions.js';

/** What a `failover` expectation measures of a balancer kill (see the `failover` expectation). */
export const FAILOVER_MEASURES = ['takeover-budget', 'errors-per-held', 'retried-share'] as const;

/**
 * The shape of a lab file (YAML or JSON) as zod checks it: a scenario (see
 * `scenarioFileSchema`: field names are the `start` flags without their
 * dashes, grouped) plus what the lab adds — its title and lesson, several
 * `runs` for compare-style lessons, and `expect`. The values are read
 * afterwards by `resolveScenario`, as `lblab start`'s flags are.
 */

/** A duration with its unit, read later by `parseDuration`. */
const duration = z.string();

const { backendProfile, health, balancer, load, timelineEntry, regions, rtt, sessions, balancers, ha, haInterval } = scenarioFileSchema;

/** What a run may change from the lab's scenario (compare-style labs run several). */
const runOverrides = {
  algo: z.enum(ALGORITHMS).optional(),
  weights: z.array(z.number()).optional(),
  'hash-key': z.string().optional(),
  health: health.optional(),
  balancer: balancer.optional(),
  timeline: z.array(timelineEntry).optional(),
  gslb: z.enum(GSLB_POLICIES).optional(),
  /** Where the backends keep user sessions: memory, shared or token (`--sessions`). */
  sessions: sessions.optional(),
  /** Two balancers (`--balancers 2`) and how they stand in for each other (`--ha`, `--ha-interval`). */
  balancers: balancers.optional(),
  ha: ha.optional(),
  'ha-interval': haInterval.optional(),
};

/** One run of a lab with several: its name (used by `run:` in expectations) and what it changes. */
const run = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'a name of lowercase letters, digits and dashes' }),
  ...runOverrides,
  /** Load fields this run changes (e.g. one client instead of twenty); the rest are the lab's. */
  load: load.partial().optional(),
});

/** A lab file. Expectations are checked one by one in load-lab.ts, where their kind is known. */
export const labFileSchema = z.strictObject({
  order: z.number().int().min(0).max(999).optional(),
  title: z.string().min(1),
  teaches: z.string().min(1),
  backends: z.union([z.number().int(), z.array(backendProfile).min(1)]),
  regions: regions.optional(),
  rtt: rtt.optional(),
  ...runOverrides,
  load,
  runs: z.array(run).min(2).optional(),
  /** The engines the lab is valid for (default all): one whose real balancer cannot show the lesson is left out, and the text says why. */
  engines: z.array(z.enum(ENGINES)).min(1).optional(),
  expect: z.array(z.record(z.string(), z.unknown())).min(1),
});

/** A lab file as zod hands it over (values still unparsed strings). */
export type LabFile = z.infer<typeof labFileSchema>;
/** One run's overrides. */
export type LabRunFile = z.infer<typeof run>;

const backend = z.string();
const fraction = z.number().min(0).max(1);
const count = z.number().int().min(0);
const runName = z.string().optional();
/** `after`: a duration (`5s`) or an event of the run (`kill b2`, `drain b2`, `up b2`); `grace` is added to it; `for`: how long the window lasts (default: to the end of the run). */
const window = { after: z.string().optional(), grace: duration.optional(), for: duration.optional() };
const latencyMetric = z.enum(['p50', 'p90', 'p99', 'p999', 'max']);

/**
 * Each expectation kind and its fields. Fractions are 0..1; durations are
 * strings with a unit. `run` names the run it is about (required when the
 * lab has several runs).
 */
export const EXPECTATION_SCHEMAS = {
  /** A backend's share of responses is `is` ± `within`, over the run or in a window of the per-second time line. */
  share: z.strictObject({ backend, is: fraction, within: fraction, ...window, run: runName }),
  /** The largest |share − expected share| over the backends is at most `max`. */
  'max-share-deviation': z.strictObject({ max: fraction, run: runName }),
  /** The `fault` (default kill) on `backend` was noticed (DOWN, ejected or breaker open) within `within`, and not before `at-least`. */
  detected: z.strictObject({
    backend,
    fault: z.string().optional(),
    by: z.enum(['down', 'ejected', 'breaker-open']).optional(),
    within: duration,
    'at-least': duration.optional(),
    run: runName,
  }),
  /** Errors ÷ requests is at most `max` (and at least `min`), over the run or from an event on (per-second time line). */
  'error-rate': z.strictObject({ max: fraction.optional(), min: fraction.optional(), ...window, run: runName }),
  /** A latency percentile, overall or of one backend, within bounds. */
  latency: z.strictObject({ of: latencyMetric, max: duration.optional(), min: duration.optional(), backend: backend.optional(), run: runName }),
  /** The largest share any one backend served is within bounds (which backend does not matter: "all traffic to one server"). */
  'largest-share': z.strictObject({ min: fraction.optional(), max: fraction.optional(), run: runName }),
  /** Share of virtual clients served by exactly one backend (record `clients.stickiness`) is at least `min`. */
  stickiness: z.strictObject({ min: fraction, run: runName }),
  /** No virtual client was served by more than `max` backends (record `clients.touched`): a re-pinned client moved once. */
  'backends-per-client': z.strictObject({ max: count, run: runName }),
  /** The first responses (record `sequence`): exactly `starts-with`, or `count` of them repeating `cycle` from its first element. */
  sequence: z.strictObject({
    'starts-with': z.array(backend).min(1).optional(),
    cycle: z.array(backend).min(1).optional(),
    count: z.number().int().min(1).max(100).optional(),
    run: runName,
  }),
  /** Responses served by `backend`, over the run or from an event on, are ≥ `min` and ≤ `max`. */
  requests: z.strictObject({ backend, min: count.optional(), max: count.optional(), ...window, run: runName }),
  /** The most requests any backend served minus the fewest is at most `max` (round robin at concurrency 1: 1). */
  'requests-spread': z.strictObject({ max: count, run: runName }),
  /** The share of virtual clients whose backend changed when a backend was removed is within bounds. */
  'keys-moved': z.strictObject({ min: fraction.optional(), max: fraction.optional(), run: runName }),
  /** Like keys-moved, counting only clients whose backend was NOT the removed one (what a consistent hash avoids). */
  'keys-moved-from-kept': z.strictObject({ min: fraction.optional(), max: fraction.optional(), run: runName }),
  /**
   * What virtual client `client` (1-based), or every client but `except`,
   * got per second of the run (record `clients.each`): `served` (answered,
   * not 429, not failed), `rate-limited` (429), `errors` or all `requests`;
   * each client's rate (req/s) within `min` … `max`.
   */
  'client-rate': z.strictObject({
    client: z.number().int().min(1).optional(),
    except: z.number().int().min(1).optional(),
    of: z.enum(['served', 'rate-limited', 'errors', 'requests']),
    min: z.number().min(0).optional(),
    max: z.number().min(0).optional(),
    run: runName,
  }),
  /**
   * What the backends themselves saw of the requests (record `backends[].seen`), over all of them:
   * `header` with `present` true (every request carried it) or false (none did); `header` with
   * `distinct` bounds on its distinct values (X-Forwarded-For: one per client); or `peers` bounds on
   * the distinct TCP peer addresses (one: a proxy or the balancer stood in front of every client).
   */
  'seen-by-backends': z.strictObject({
    header: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'a header name' }).optional(),
    present: z.boolean().optional(),
    distinct: z.strictObject({ min: count.optional(), max: count.optional() }).optional(),
    peers: z.strictObject({ min: count.optional(), max: count.optional() }).optional(),
    run: runName,
  }),
  /**
   * The balancer's keep-alive connections to `backend` (record
   * `backends[].upstreamConnections`, lblab's balancer in http mode):
   * `opened`/`closed` over the run, `open`/`idle` at the end, `peak-open`,
   * the averages `mean-open`, `mean-busy`, `mean-idle` (open − busy), or
   * `requests-per-connection` (tries served ÷ opened), within bounds.
   */
  'upstream-connections': z.strictObject({
    backend,
    of: z.enum(['opened', 'closed', 'open', 'idle', 'peak-open', 'mean-open', 'mean-busy', 'mean-idle', 'requests-per-connection']),
    min: z.number().min(0).optional(),
    max: z.number().min(0).optional(),
    run: runName,
  }),
  /**
   * What the virtual clients of `region` got (record `totals.gslb`, with
   * `regions`): `remote-share` of their requests served in another region,
   * `error-rate`, or `rtt-paid`, how much slower its requests served in the
   * nearest other region were than that region's own clients' (remote p50 −
   * their local p50: the same backends, only the distance differs) over the
   * round trip between the two: 1 = exactly one RTT.
   */
  'client-region': z.strictObject({ region: z.string(), of: z.enum(['remote-share', 'error-rate', 'rtt-paid']), min: z.number().min(0).optional(), max: z.number().min(0).optional(), run: runName }),
  /**
   * What the WebSocket clients of a `load.protocol: ws` run saw (record
   * `webSocketClients`): `open-share`, `backend`'s share (0..1) of the
   * WebSockets open at the end; `lost`, messages neither echoed, nor in
   * flight on a connection that dropped, nor pending at the end; `drops`,
   * connections dropped (of `backend` when given).
   */
  websockets: z.strictObject({
    of: z.enum(['open-share', 'lost', 'drops']),
    backend: backend.optional(),
    min: z.number().min(0).optional(),
    max: z.number().min(0).optional(),
    run: runName,
  }),
  /**
   * The users' sessions (`sessions: memory|shared|token`), from the
   * `x-lblab-session` header of every response the clients read (record
   * `totals.sessions`, per second `timeline[].sessions`): `created`
   * (logins), `found`, `lost` (a session the backend could not find or
   * verify: the user was logged out) as counts, or `lost-share` (lost ÷
   * every response with a session, 0..1), over the run or in a window
   * (`after`, `grace`, `for`); or `logged-out`, the virtual clients the
   * fault named in `after` (`kill b2`) logged out until the next fault
   * (record `sessionLosses`), or `logged-out-elsewhere`, those of them its
   * target did not serve last (0: the fault cost only its own users their
   * sessions; needs at most 1000 clients). Within `min` … `max`.
   */
  sessions: z.strictObject({
    of: z.enum(['created', 'found', 'lost', 'lost-share', 'logged-out', 'logged-out-elsewhere']),
    min: z.number().min(0).optional(),
    max: z.number().min(0).optional(),
    ...window,
    run: runName,
  }),
  /** TLS handshakes at the balancer per request of the run (record `totals.tls`, with `balancer.tls`): 1 = a new connection for every request, near 0 = keep-alive reuse. */
  handshakes: z.strictObject({ min: z.number().min(0).optional(), max: z.number().min(0).optional(), run: runName }),
  /**
   * What the first kill of a balancer cost (record `ha.failovers[0]`, with
   * `balancers: 2`): `takeover-budget`, the takeover time over its budget
   * (interval × fall + timeout; ≤ 1 = within it); `errors-per-held`, the
   * client errors over what the killed balancer held (its client
   * connections or requests in flight, the larger; ≤ 1 = bounded by it; a
   * request sent just after the kill on a kept-alive connection the client
   * has not yet seen closed fails too, so a little over 1 happens);
   * `retried-share`, the share of the new connections since that were
   * refused first and opened on the other address (dns-rr).
   */
  failover: z.strictObject({ of: z.enum(FAILOVER_MEASURES), min: z.number().min(0).optional(), max: z.number().min(0).optional(), run: runName }),
  /** A measure of run `run` is below (or above) the same measure of run `than`, by a factor `by` (default 1); `rps` leaves each run's first second (its warm-up) out. */
  compare: z.strictObject({
    metric: z.enum(['p50', 'p90', 'p99', 'p999', 'max', 'rps', 'error-rate', 'share', 'keys-moved']),
    backend: backend.optional(),
    run: z.string(),
    below: z.string().optional(),
    above: z.string().optional(),
    by: z.number().positive().optional(),
  }),
} as const;

/** What an `expect` entry may carry beside its kind: the engines it holds on (default every engine the lab runs on). */
export const EXPECTATION_ENGINES = z.array(z.enum(ENGINES)).min(1);

/** The expectation kinds, as the key of an `expect` entry. */
export type ExpectationKind = keyof typeof EXPECTATION_SCHEMAS;
/** The expectation kinds in the order the docs list them. */
export const EXPECTATION_KINDS = Object.keys(EXPECTATION_SCHEMAS) as ExpectationKind[];
