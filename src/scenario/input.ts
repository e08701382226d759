import { z } from 'zod';
import { ALGORITHMS } from '../balancer/algorithms/index.js';
import { SESSION_MODES } from '../backend/sessions.js';
import { balancerFileSchema, type BalancerInput } from './balancer-settings.js';
import { healthFileSchema, type HealthInput } from './health.js';
import { loadFileSchema, type LoadInput } from './load.js';
import { HA_MODES } from './ha.js';
import { regionsFileSchema, rttFileSchema, type RegionsInput, type RttInput } from './regions.js';

/**
 * A scenario as the user writes it, before {@link resolveScenario} reads its
 * values: the shape of a lab file's scenario part, with field names as the
 * `start` flags without their dashes, grouped (`health.interval` is
 * `--health-interval`, `balancer.retry-on` is `--retry-on`,
 * `load.concurrency` is `--concurrency`). Values are still text (durations
 * with their unit, `500ms`), or numbers and lists where a file has them;
 * a field left out takes lblab's default. The CLI builds one from the flags
 * the user typed (see `src/cli/options.ts`), a lab file is one (plus `runs`
 * and `expect`).
 */
export type ScenarioInput = {
  /** How many backends b1..bn, or one profile each. */
  backends?: number | string | BackendInput[];
  algo?: string;
  /** What balances: `lblab` (default), `haproxy` or `nginx` (see `ENGINES`). */
  engine?: string;
  /** One weight per backend: `5,1,1` or `[5, 1, 1]`. */
  weights?: string | readonly number[];
  'hash-key'?: string;
  health?: HealthInput;
  balancer?: BalancerInput;
  load?: LoadInput;
  /** Scheduled actions: `"5s kill b2"` or `{ at: 5s, kill: b2 }`. */
  timeline?: ReadonlyArray<TimelineEntryInput>;
  /** Regions for global server load balancing: `us=b1,b2` each, or a mapping of names to backends (see `resolveRegions`). */
  regions?: RegionsInput;
  /** The GSLB tier's policy: `geo` (default), `weighted` or `failover` (see `GSLB_POLICIES`). */
  gslb?: string;
  /** Round trips between regions: `us-eu=80ms` each, or a mapping (see `resolveGslb`). */
  rtt?: RttInput;
  /** Where the backends keep user sessions: `memory`, `shared` or `token` (see `SESSION_MODES`); absent: none. */
  sessions?: string;
  /** How many balancers: 1 (default) or 2, standing in for each other as `ha` says. */
  balancers?: number | string;
  /** With two balancers: `active-passive` (default) or `dns-rr` (see `HA_MODES`). */
  ha?: string;
  /** With `ha: active-passive`: how often the passive balancer checks the active one, e.g. `200ms`. */
  'ha-interval'?: string;
};

/** One backend's behaviour profile as written; absent fields take `start`'s defaults. */
export type BackendInput = { latency?: string; capacity?: number | string; 'error-rate'?: number | string; 'ws-push'?: string };




/** A timeline entry as written: the `--event` text, or one action key besides `at`. */
export type TimelineEntryInput = string | Readonly<Record<string, string | number>>;

/**
 * The scenario part of a file (a lab), as zod checks its shape before the
 * values are read: durations are strings with a unit (`500ms`), counts are
 * numbers. Unknown fields are refused, so a typo never silently does
 * nothing. Each object is exported for the lab file's schema to build on.
 */
export const scenarioFileSchema = {
  backendProfile: z.strictObject({
    latency: z.string().optional(),
    capacity: z.number().optional(),
    'error-rate': z.number().optional(),
    'ws-push': z.string().optional(),
  }),
  /** `{at: 5s, kill: b2}` (one action key besides `at`) or the `--event` string `"5s kill b2"`. */
  health: healthFileSchema,
  balancer: balancerFileSchema,
  load: loadFileSchema,
  timelineEntry: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number()]))]),
  algo: z.enum(ALGORITHMS),
  regions: regionsFileSchema,
  rtt: rttFileSchema,
  sessions: z.enum(SESSION_MODES),
  balancers: z.number().int(),
  ha: z.enum(HA_MODES),
  haInterval: z.string(),
};
