import { z } from 'zod';
import { SESSION_MODES } from '../backend/sessions.js';
import type { RunRecord } from './run-record.js';

const latency = z.object({ p50: z.number(), p90: z.number(), p99: z.number(), p999: z.number(), p9999: z.number().optional(), max: z.number() });
const connects = z.object({ opened: z.number(), retried: z.number(), retransmitted: z.number() });
const memberState = z.enum(['active', 'passive', 'down', 'starting']);
const sessions = z.object({ created: z.number(), found: z.number(), lost: z.number() });
const transition = z.object({ atMs: z.number(), from: z.enum(['up', 'down']), to: z.enum(['up', 'down']), reason: z.string() });

/**
 * The run record's shape (schemaVersion 1) as zod checks it when `lblab
 * report` reads a file: every field the report draws must be there with the
 * right type. Kept in step with the {@link RunRecord} type by `satisfies`.
 */
export const runRecordSchema = z.object({
  schemaVersion: z.literal(1),
  config: z.object({
    command: z.enum(['start', 'balance', 'load']),
    clientsVia: z.literal('forward-proxy').optional(),
    mode: z.enum(['http', 'tcp']).optional(),
    algo: z.string().optional(),
    weights: z.array(z.number()).optional(),
    concurrency: z.number().optional(),
    rate: z.number().optional(),
    maxInFlight: z.number().optional(),
    requests: z.number().optional(),
    clients: z.number().optional(),
    protocol: z.enum(['http2']).optional(),
    threads: z.number().optional(),
    connections: z.number().optional(),
    streams: z.number().optional(),
    webSocket: z.object({ clients: z.number(), messageRate: z.number(), lifetimeMs: z.number().optional() }).optional(),
    target: z.string().optional(),
    health: z
      .object({
        mode: z.enum(['http', 'tcp']).optional(),
        intervalMs: z.number(),
        fastinterMs: z.number().optional(),
        downinterMs: z.number().optional(),
        timeoutMs: z.number(),
        rise: z.number(),
        fall: z.number(),
        path: z.string(),
      })
      .optional(),
    proxy: z
      .object({
        connectTimeoutMs: z.number(),
        responseTimeoutMs: z.number(),
        retries: z.number(),
        retryOn: z.array(z.string()),
        retryNonIdempotent: z.boolean(),
        outlier: z
          .discriminatedUnion('mode', [
            z.object({ mode: z.literal('nginx'), maxFails: z.number(), failTimeoutMs: z.number() }),
            z.object({ mode: z.literal('envoy'), consecutive: z.number(), baseEjectionMs: z.number(), maxEjectionPercent: z.number() }),
          ])
          .optional(),
        breaker: z.object({ failures: z.number(), cooldownMs: z.number() }).optional(),
        backups: z.array(z.string()).optional(),
        slowStartMs: z.number().optional(),
        panicThreshold: z.number().optional(),
        onMarkedDown: z.literal('shutdown-sessions').optional(),
        sticky: z
          .discriminatedUnion('mode', [
            z.object({ mode: z.literal('cookie'), name: z.string() }),
            z.object({ mode: z.literal('ip'), ttlMs: z.number(), size: z.number() }),
          ])
          .optional(),
        rateLimit: z.object({ ratePerSecond: z.number(), burst: z.number() }).optional(),
      })
      .optional(),
    routes: z.array(z.object({ match: z.string(), pool: z.string(), backends: z.array(z.string()), algo: z.string().optional() })).optional(),
    tls: z.boolean().optional(),
    http2: z.boolean().optional(),
    engine: z.enum(['haproxy', 'nginx']).optional(),
    sessions: z.enum(SESSION_MODES).optional(),
    ha: z.object({ balancers: z.literal(2), mode: z.enum(['active-passive', 'dns-rr']), intervalMs: z.number() }).optional(),
  }),
  durationMs: z.number().nonnegative(),
  totals: z.object({
    requests: z.number(),
    errors: z.number(),
    rps: z.number(),
    latencyMs: latency,
    statusCodes: z.record(z.string(), z.number()),
    errorKinds: z.record(z.string(), z.number()),
    latencyBuckets: z.object({ edgesMs: z.array(z.number()), counts: z.array(z.number()) }),
    retries: z.object({ total: z.number(), succeeded: z.number() }).optional(),
    clientAborts: z.number().optional(),
    rateLimited: z.number().optional(),
    tls: z.object({ handshakes: z.number(), failed: z.number(), handshakeMs: z.object({ p50: z.number(), p99: z.number(), max: z.number() }) }).optional(),
    http2: z.object({ connections: z.number(), streams: z.number(), maxConcurrentStreams: z.number() }).optional(),
    gslb: z
      .object({
        policy: z.string(),
        rttMs: z.record(z.string(), z.number()),
        regions: z.array(z.object({ name: z.string(), backends: z.array(z.string()), requests: z.number() })),
        clientRegions: z.array(
          z.object({
            name: z.string(),
            clients: z.number(),
            requests: z.number(),
            local: z.number(),
            remote: z.number(),
            errors: z.number(),
            latencyMs: z.object({ p50: z.number(), p99: z.number() }),
            localMs: z.object({ p50: z.number(), p99: z.number() }).optional(),
            remoteMs: z.object({ p50: z.number(), p99: z.number() }).optional(),
          }),
        ),
      })
      .optional(),
    uncorrectedLatencyMs: latency.optional(),
    lateSends: z.number().optional(),
    waitedForSlot: z.number().optional(),
    unsent: z.number().optional(),
    warmUpRequests: z.number().optional(),
    sessions: sessions.optional(),
  }),
  backends: z.array(
    z.object({
      name: z.string(),
      url: z.string(),
      weight: z.number(),
      requests: z.number(),
      share: z.number(),
      expectedShare: z.number(),
      configuredShare: z.number().optional(),
      pool: z.string().optional(),
      errors: z.number(),
      failedTries: z.number().optional(),
      removed: z.boolean().optional(),
      tries: z.object({ served: z.number(), retried: z.number(), lost: z.number() }).optional(),
      checks: z.record(z.string(), z.number()).optional(),
      seen: z
        .object({ requests: z.number(), peers: z.record(z.string(), z.number()), headers: z.record(z.string(), z.number()), distinct: z.record(z.string(), z.number()), values: z.record(z.string(), z.array(z.string())) })
        .optional(),
      detections: z
        .array(
          z.object({
            fault: z.string(),
            atMs: z.number(),
            detectedBy: z.enum(['down', 'ejected', 'breaker-open']).nullable(),
            afterMs: z.number().nullable(),
            reason: z.string().optional(),
          }),
        )
        .optional(),
      connections: z
        .object({ total: z.number(), active: z.number().optional(), bytesIn: z.number(), bytesOut: z.number(), connectErrors: z.number() })
        .optional(),
      upstreamConnections: z
        .object({
          open: z.number(),
          idle: z.number(),
          opened: z.number(),
          closed: z.number(),
          peakOpen: z.number(),
          meanOpen: z.number(),
          meanBusy: z.number(),
        })
        .optional(),
      webSockets: z.object({ switched: z.number(), open: z.number(), refused: z.number(), failed: z.number() }).optional(),
      sessions: sessions.optional(),
      latencyMs: latency,
      health: z.object({ state: z.enum(['up', 'down']), downMs: z.number(), transitions: z.array(transition) }),
    }),
  ),
  periods: z
    .array(
      z.object({
        fromMs: z.number(),
        toMs: z.number(),
        algo: z.string(),
        weights: z.array(z.number()),
        out: z.array(z.string()).optional(),
        requests: z.number(),
        errors: z.number(),
        rps: z.number(),
        latencyMs: latency,
        backends: z.array(z.object({ name: z.string(), requests: z.number(), share: z.number(), expectedShare: z.number(), latencyMs: latency })),
      }),
    )
    .optional(),
  events: z.array(z.object({ atMs: z.number(), type: z.string(), target: z.string().optional(), detail: z.string().optional() })),
  timeline: z.array(z.object({ atMs: z.number(), rps: z.number(), errors: z.number(), perBackend: z.record(z.string(), z.number()), sessions: sessions.optional() })),
  clients: z
    .object({
      total: z.number(),
      touched: z.record(z.string(), z.number()),
      stickiness: z.number(),
      each: z.array(z.object({ requests: z.number(), rateLimited: z.number(), errors: z.number() })).optional(),
    })
    .optional(),
  sequence: z.array(z.string()).optional(),
  webSocketClients: z
    .object({
      connects: z.number(),
      reconnects: z.number(),
      expired: z.number(),
      drops: z.number(),
      failedConnects: z.number(),
      sent: z.number(),
      echoed: z.number(),
      unanswered: z.number(),
      unansweredAtDrop: z.number(),
      pendingAtEnd: z.number(),
      pushes: z.number(),
      echoMs: latency,
      backends: z.record(z.string(), z.object({ connects: z.number(), drops: z.number(), openAtEnd: z.number(), openShare: z.number(), expectedShare: z.number() })),
    })
    .optional(),
  sessionLosses: z
    .array(
      z.object({
        atMs: z.number(),
        type: z.string(),
        target: z.string(),
        users: z.number(),
        targetUsers: z.number(),
        loggedOut: z.number(),
        clients: z.object({ target: z.array(z.number()), loggedOut: z.array(z.number()) }).optional(),
      }),
    )
    .optional(),
  ha: z
    .object({
      mode: z.enum(['active-passive', 'dns-rr']),
      addresses: z.array(z.string()),
      port: z.number(),
      intervalMs: z.number(),
      fall: z.number(),
      budgetMs: z.number(),
      balancers: z.array(z.object({ name: z.string(), address: z.string(), requests: z.number(), state: memberState, pid: z.number() })),
      kills: z.array(z.object({ atMs: z.number(), balancer: z.string(), pid: z.number(), wasActive: z.boolean(), inFlight: z.number(), connections: z.number() })),
      takeovers: z.array(z.object({ atMs: z.number(), balancer: z.string(), address: z.string(), failedChecks: z.number(), lastError: z.string(), firstFailedAtMs: z.number() })),
      failovers: z.array(
        z.object({
          atMs: z.number(),
          balancer: z.string(),
          wasActive: z.boolean(),
          inFlight: z.number(),
          connections: z.number(),
          takeoverMs: z.number().nullable(),
          clientErrors: z.number(),
          errorsSentAfter: z.number(),
          firstResponseMs: z.number().nullable(),
          connects,
        }),
      ),
    })
    .optional(),
  generatorFloor: z.object({ p50Us: z.number(), p99Us: z.number(), requests: z.number() }).optional(),
  lab: z
    .object({
      name: z.string(),
      title: z.string(),
      passed: z.boolean(),
      expectations: z.array(z.object({ text: z.string(), expected: z.string(), measured: z.string(), pass: z.boolean() })),
    })
    .optional(),
}) satisfies z.ZodType<RunRecord>;
