import { MAX_CLIENTS } from '../load/client-addresses.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../load/load-generator.js';
import { HEADER_PLACEHOLDERS, type HeaderTemplate } from '../load/request-headers.js';
import { z } from 'zod';
import { FieldError, type FieldNamer } from './field-error.js';
import { parseDuration, parseInteger } from './values.js';
import { clientRegionsFileSchema, type ClientRegionsInput } from './regions.js';

/** The load as written: closed model (`concurrency`) or open model (`rate`, `max-in-flight`), its length, its virtual clients and what they send. */
export type LoadInput = {
  concurrency?: number | string;
  rate?: number | string;
  'max-in-flight'?: number | string;
  requests?: number | string;
  duration?: string;
  clients?: number | string;
  'spread-clients'?: boolean;
  /** `name=value` each, or a mapping of names to values. */
  headers?: readonly string[] | Readonly<Record<string, string>>;
  path?: readonly string[];
  cookies?: boolean;
  /** One weight per virtual client, `5,1,1` or `[5, 1, 1]`: how often each sends, relative to the others. */
  'client-weights'?: string | readonly number[];
  /** False: a new connection for every request (`Connection: close`), as a client without keep-alive. */
  'keep-alive'?: boolean;
  /**
   * What the clients speak: `http` (requests over HTTP/1.1, the default),
   * `http2` (`connections` connections each carrying `streams` concurrent
   * streams) or `ws` (each virtual client holds one WebSocket).
   */
  protocol?: string;
  /** `protocol: http2`: connections in all (default 1). */
  connections?: number | string;
  /** `protocol: http2`: concurrent streams on each connection (default {@link DEFAULT_CONCURRENCY}). */
  streams?: number | string;
  /** With `regions`: the share of the virtual clients placed in each, `us=60%,eu=40%` or a mapping (default equal). */
  'client-regions'?: ClientRegionsInput;
  /** `forward`: the clients send through lblab's forward proxy, each request to the next backend in turn (see {@link ClientOptions.proxy}). */
  proxy?: string;
  /**
   * `lblab load` and `lblab start` only (no file field: a lab has its `expect`): the highest error rate (a fraction
   * 0…1, errors ÷ requests as `totals.errors` counts them) the run may end
   * with; above it the command exits 3, as a k6 threshold `rate<…` fails.
   */
  'fail-on-errors'?: number | string;
  /** `protocol: ws`: messages a second each WebSocket client sends. */
  'message-rate'?: number | string;
  /** `protocol: ws`: how long a client keeps one WebSocket before it closes it and connects again (a duration); default the whole run. */
  'ws-lifetime'?: string;
};

/** The load fields as a file gives them (zod): the duration is required, a string with its unit; unknown fields refused. */
export const loadFileSchema = z.strictObject({
  concurrency: z.number().optional(),
  rate: z.number().optional(),
  'max-in-flight': z.number().optional(),
  requests: z.number().optional(),
  duration: z.string(),
  clients: z.number().optional(),
  'spread-clients': z.boolean().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  path: z.array(z.string()).optional(),
  cookies: z.boolean().optional(),
  'client-weights': z.array(z.number()).optional(),
  'keep-alive': z.boolean().optional(),
  proxy: z.enum(['forward']).optional(),
  protocol: z.enum(['http', 'http2', 'ws']).optional(),
  'client-regions': clientRegionsFileSchema.optional(),
  connections: z.number().optional(),
  streams: z.number().optional(),
  'message-rate': z.number().optional(),
  'ws-lifetime': z.string().optional(),
});

/** Closed-model workers when neither `concurrency` nor `rate` is given. */
export const DEFAULT_CONCURRENCY = 16;
/** Highest rate (req/s): well past what one loopback machine sustains. */
export const MAX_RATE = 1_000_000;
/** Most requests a run may be bounded by. */
export const MAX_REQUESTS = 1_000_000_000;

/**
 * The load model (see `LoadConfig`): the closed model's `concurrency`
 * workers, or with `rate` (req/s) the open model and its in-flight cap;
 * `requests` ends the run after that many completed requests.
 */
export type LoadModel = {
  concurrency: number;
  rate?: number;
  maxInFlight?: number;
  requests?: number;
  /** `protocol: http2`: the clients' HTTP/2 connections and the concurrent streams on each (the closed model's `concurrency` is their product); see `LoadConfig.http2`. */
  http2Clients?: { connections: number; streams: number };
};


/** Most concurrent streams on one HTTP/2 connection (`streams`): nginx's default `http2_max_concurrent_streams` and lblab's balancer allow 128. */
export const MAX_STREAMS = 128;

/** What the virtual-client fields ask of the load generator (see `LoadConfig`). */
export type ClientOptions = {
  /** Virtual clients 1…10 000; undefined = one client on the system's source address. */
  clients: number | undefined;
  /** One /24 per client instead of 253 clients per /24. */
  spreadClients: boolean;
  headers: HeaderTemplate[];
  /** A cookie jar per client (`--no-cookies` turns them off). */
  cookies: boolean;
  /** Paths (with query) the requests take in turn; absent = the target URL's own. */
  paths?: string[];
  /** Relative request rates of the virtual clients, one integer ≥ 1 each (client 1 first); absent = every client alike. */
  clientWeights?: number[];
  /** Keep connections open between requests (default true); false = one connection per request. */
  keepAlive: boolean;
  /**
   * `forward`: a forward proxy (lblab's own, `lblab proxy`) is started with
   * the run and the clients send through it in absolute form, choosing the
   * backend themselves (each request to the next backend in turn): the
   * balancer is not asked. Absent: the clients send to the balancer.
   */
  proxy?: 'forward';
};

/** What the clients of a run speak: `http` requests (HTTP/1.1), `http2` streams on a few connections, or `ws`, WebSockets held open (see `runWebSocketLoad`). */
export const LOAD_PROTOCOLS = ['http', 'http2', 'ws'] as const;

/** WebSocket clients a `ws` load holds when `clients` is not given. */
export const DEFAULT_WS_CLIENTS = 10;
/** Most messages a second one WebSocket client may send. */
export const MAX_MESSAGE_RATE = 1000;

/**
 * A `ws` load resolved: `clients` virtual clients each hold one WebSocket and
 * send `messageRate` messages a second; with `lifetimeMs` each closes its
 * WebSocket after that long (ms) and connects again.
 */
export type WebSocketLoadModel = { clients: number; messageRate: number; lifetimeMs?: number };

/** Load fields that mean nothing to WebSocket clients (they hold connections, they send no requests): refused with a `ws` load. */
export const NOT_FOR_WS = ['concurrency', 'rate', 'requests', 'max-in-flight', 'spread-clients', 'client-weights', 'headers', 'path', 'proxy', 'connections', 'streams', 'client-regions'] as const;

/**
 * Reads `clients`, `message-rate` and `ws-lifetime` of a WebSocket load and
 * checks the load fields besides them are ones WebSocket clients take.
 * `httpWords` says what those fields need (`an http(s):// URL`, `` `--protocol http` ``),
 * `defaultRate` is the message rate when none is given and none is required.
 * @throws {FieldError} naming the field: a field of {@link NOT_FOR_WS} given
 * (or `cookies` off), `message-rate` missing when `rateRequired`, not a number
 * above 0 up to {@link MAX_MESSAGE_RATE}, `clients` or `ws-lifetime` out of range.
 */
export function resolveWebSocketLoad(o: LoadInput, name: FieldNamer, opts: { httpWords: string; rateRequired: boolean; defaultRate?: number }): WebSocketLoadModel {
  const [clientsFlag, rateFlag, lifetimeFlag, durationFlag] = ['clients', 'message-rate', 'ws-lifetime', 'duration'].map((f) => name(`load.${f}`));
  const takes = `WebSocket clients take ${clientsFlag}, ${rateFlag}, ${lifetimeFlag} and ${durationFlag}`;
  const given = [...NOT_FOR_WS.filter((f) => o[f] !== undefined), ...(o.cookies === false ? ['cookies'] : []), ...(o['keep-alive'] === false ? ['keep-alive'] : [])];
  if (given.length > 0) {
    const field = name(`load.${given[0]}`);
    throw FieldError.worded(field, `Expected \`${field}\` only with ${opts.httpWords}; ${takes}`);
  }
  const rateField = name('load.message-rate');
  if (o['message-rate'] === undefined && opts.rateRequired) {
    throw FieldError.worded(rateField, `Expected \`${rateField}\` (messages a second each WebSocket client sends, e.g. 5) with \`${name('load.protocol')} ws\`, got none`);
  }
  const messageRate = o['message-rate'] === undefined ? (opts.defaultRate ?? 1) : Number(o['message-rate']);
  if (!(messageRate > 0 && messageRate <= MAX_MESSAGE_RATE)) {
    throw new FieldError(rateField, `to be a number of messages a second, above 0 and at most ${MAX_MESSAGE_RATE}, got ${JSON.stringify(o['message-rate'])}`);
  }
  const clients = o.clients === undefined ? DEFAULT_WS_CLIENTS : parseInteger(name('load.clients'), String(o.clients), 1, MAX_CLIENTS);
  const lifetimeMs = o['ws-lifetime'] === undefined ? undefined : parseDuration(name('load.ws-lifetime'), o['ws-lifetime']);
  return { clients, messageRate, ...(lifetimeMs !== undefined && { lifetimeMs }) };
}

/**
 * Reads `load.protocol` (default http): for `ws`, the WebSocket load (see
 * {@link resolveWebSocketLoad}, `message-rate` required); for http, checks
 * no WebSocket field was given.
 * @throws {FieldError} naming the field: an unknown protocol, a WebSocket
 * field with http, or what {@link resolveWebSocketLoad} refuses.
 */
export function resolveProtocol(o: LoadInput, name: FieldNamer): WebSocketLoadModel | undefined {
  const field = name('load.protocol');
  const protocol = o.protocol ?? 'http';
  if (!(LOAD_PROTOCOLS as readonly string[]).includes(protocol)) throw new FieldError(field, `to be one of ${LOAD_PROTOCOLS.join(', ')}, got ${JSON.stringify(protocol)}`);
  if (protocol === 'ws') return resolveWebSocketLoad(o, name, { httpWords: `\`${field} http\``, rateRequired: true });
  for (const ws of ['message-rate', 'ws-lifetime'] as const) {
    if (o[ws] !== undefined) throw FieldError.worded(name(`load.${ws}`), `Expected \`${name(`load.${ws}`)}\` only with \`${field} ws\`, got it with HTTP clients`);
  }
  return undefined;
}

/** Largest weight of one virtual client (`--client-weights`). */
export const MAX_CLIENT_WEIGHT = 1000;

/**
 * Resolves the load model of `load.*`.
 * @throws {FieldError} naming the field as `name` words it: `rate` together
 * with `concurrency`, a `rate` that is not a positive number up to
 * {@link MAX_RATE}, `max-in-flight` without `rate` or out of 1…100 000,
 * `requests` not a whole number from 1.
 */
export function resolveLoadModel(o: LoadInput, name: FieldNamer): LoadModel {
  if (o.rate !== undefined && o.concurrency !== undefined) {
    const [rate, concurrency] = [name('load.rate'), name('load.concurrency')];
    throw FieldError.worded(
      rate,
      `Expected \`${rate}\` (open model: requests on a schedule) or \`${concurrency}\` (closed model: workers), not both, got ${rate} ${o.rate} and ${concurrency} ${o.concurrency}`,
    );
  }
  if (o['max-in-flight'] !== undefined && o.rate === undefined) {
    const inFlight = name('load.max-in-flight');
    throw FieldError.worded(inFlight, `Expected \`${inFlight}\` only with \`${name('load.rate')}\` (the closed model is bounded by \`${name('load.concurrency')}\`), got it alone`);
  }
  const requests = o.requests === undefined ? undefined : parseInteger(name('load.requests'), String(o.requests), 1, MAX_REQUESTS);
  const bounded = { ...(requests !== undefined ? { requests } : {}), ...resolveHttp2(o, name) };
  if (o.rate === undefined) {
    if (bounded.http2Clients) return { concurrency: bounded.http2Clients.connections * bounded.http2Clients.streams, ...bounded };
    return { concurrency: parseInteger(name('load.concurrency'), String(o.concurrency ?? DEFAULT_CONCURRENCY), 1, 4096), ...bounded };
  }
  return {
    concurrency: DEFAULT_CONCURRENCY,
    rate: parseRate(name('load.rate'), String(o.rate)),
    maxInFlight: o['max-in-flight'] === undefined ? DEFAULT_MAX_IN_FLIGHT : parseInteger(name('load.max-in-flight'), String(o['max-in-flight']), 1, 100_000),
    ...bounded,
  };
}

/**
 * The HTTP/2 part of the load model: with `protocol: http2`, `connections`
 * (default 1) and `streams` per connection (default
 * {@link DEFAULT_CONCURRENCY}, at most {@link MAX_STREAMS}).
 * @throws {FieldError} for another protocol; `connections` or `streams`
 * without `http2`; with it, `concurrency` (the streams are the workers),
 * `clients` (one client holds the connections) or `keep-alive` off (a
 * stream is not a connection to close).
 */
function resolveHttp2(o: LoadInput, name: FieldNamer): Pick<LoadModel, 'http2Clients'> {
  const protocol = name('load.protocol');
  if (o.protocol !== undefined && !(LOAD_PROTOCOLS as readonly string[]).includes(o.protocol)) {
    throw new FieldError(protocol, `to be one of ${LOAD_PROTOCOLS.join(', ')}, got ${JSON.stringify(o.protocol)}`);
  }
  if (o.protocol !== 'http2') {
    for (const field of ['connections', 'streams'] as const) {
      if (o[field] === undefined) continue;
      const flag = name(`load.${field}`);
      throw FieldError.worded(flag, `Expected \`${flag}\` only with \`${protocol} http2\` (HTTP/1.1 clients open a connection per worker), got it alone`);
    }
    return {};
  }
  const clash = o.concurrency !== undefined ? ['load.concurrency', `the streams are the workers: ${name('load.connections')} × ${name('load.streams')}`] : o.clients !== undefined ? ['load.clients', 'one client holds the HTTP/2 connections'] : o['keep-alive'] === false ? ['load.keep-alive', 'a stream is not a connection to close'] : undefined;
  if (clash) {
    const flag = name(clash[0] as 'load.concurrency');
    throw FieldError.worded(flag, `Expected \`${flag}\` not with \`${protocol} http2\` (${clash[1]})`);
  }
  return {
    http2Clients: {
      connections: o.connections === undefined ? 1 : parseInteger(name('load.connections'), String(o.connections), 1, 1024),
      streams: o.streams === undefined ? DEFAULT_CONCURRENCY : parseInteger(name('load.streams'), String(o.streams), 1, MAX_STREAMS),
    },
  };
}

/**
 * Parses a rate in requests per second: a positive number (decimals allowed,
 * `0.5` = one request every 2 s) up to {@link MAX_RATE}; `2000/s` reads too.
 * @throws {FieldError} naming `field` otherwise.
 */
export function parseRate(field: string, value: string): number {
  const m = /^\s*(\d+\.?\d*|\.\d+)\s*(?:\/s)?\s*$/.exec(value);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
    throw new FieldError(field, `to be requests per second, a number above 0 and at most ${MAX_RATE} like 2000, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Resolves the virtual clients of `load.*`: how many, spread over /24s or
 * not, their headers, cookie jars and paths.
 * @throws {FieldError} naming the field: `clients` out of range,
 * `spread-clients` without `clients`, a bad header or path.
 */
export function resolveClients(o: LoadInput, name: FieldNamer): ClientOptions {
  const clients = o.clients === undefined ? undefined : parseInteger(name('load.clients'), String(o.clients), 1, MAX_CLIENTS);
  if (o['spread-clients'] && clients === undefined) {
    const spread = name('load.spread-clients');
    throw FieldError.worded(spread, `Expected \`${spread}\` only with \`${name('load.clients')} N\`, got it alone`);
  }
  const header = name('load.headers');
  const written = o.headers === undefined ? [] : Array.isArray(o.headers) ? (o.headers as readonly string[]) : Object.entries(o.headers).map(([k, v]) => `${k}=${v}`);
  const headers = written.map((h) => parseHeader(header, h));
  if (headers.filter((h) => h.name.toLowerCase() === 'host').length > 1) {
    throw new FieldError(header, 'to set host at most once, got it twice');
  }
  const paths = (o.path ?? []).map((p) => {
    if (!/^\/[^\s#]*$/.test(p)) throw new FieldError(name('load.path'), `to be a path starting with / (a query may follow, no spaces or #), got ${JSON.stringify(p)}`);
    return p;
  });
  const clientWeights = o['client-weights'] === undefined ? undefined : parseClientWeights(o['client-weights'], clients, name);
  if (o.proxy !== undefined && o.proxy !== 'forward') throw new FieldError(name('load.proxy'), `to be forward (through lblab's forward proxy), got ${JSON.stringify(o.proxy)}`);
  return {
    clients,
    spreadClients: o['spread-clients'] ?? false,
    headers,
    cookies: o.cookies ?? true,
    ...(paths.length > 0 ? { paths } : {}),
    ...(clientWeights ? { clientWeights } : {}),
    keepAlive: o['keep-alive'] ?? true,
    ...(o.proxy === 'forward' ? { proxy: 'forward' as const } : {}),
  };
}

/**
 * Reads `load.client-weights`: one whole number 1…{@link MAX_CLIENT_WEIGHT}
 * per virtual client, as `5,1,1` or a list. Client i sends weight i ÷ the sum
 * of the requests (a smooth weighted turn, as nginx's weighted round robin
 * over servers), so one greedy client can be set against polite ones.
 * @throws {FieldError} naming the field: without `clients`, a count that is
 * not the number of clients, or a weight out of range.
 */
function parseClientWeights(raw: string | readonly number[], clients: number | undefined, name: FieldNamer): number[] {
  const field = name('load.client-weights');
  if (clients === undefined) throw FieldError.worded(field, `Expected \`${field}\` only with \`${name('load.clients')} N\`, got it alone`);
  const parts = typeof raw === 'string' ? raw.split(',').map((w) => w.trim()) : raw.map(String);
  if (parts.length !== clients) throw new FieldError(field, `to give one weight per client (${clients}), got ${parts.length}`);
  return parts.map((w) => parseInteger(field, w, 1, MAX_CLIENT_WEIGHT));
}

/** A header name: an RFC 9110 token (section 5.1, `token` in 5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values: visible Latin-1, space and tab; no CR, LF or other control character (RFC 9110 section 5.5, as undici checks). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers undici manages itself or refuses on a request: sending them would break every request. */
const MANAGED = ['connection', 'content-length', 'expect', 'keep-alive', 'transfer-encoding', 'upgrade'];

/**
 * Parses `NAME=VALUE` (split at the first `=`, which no header name holds).
 * The name must be an RFC 9110 token and not one undici manages
 * (connection, content-length, expect, keep-alive, transfer-encoding,
 * upgrade); the value may be empty but holds no CR, LF or other control
 * character. In the value, `{client}` and `{seq}` are placeholders; another
 * `{word}` is refused as a likely typo.
 * @throws {FieldError} naming `field`.
 */
export function parseHeader(field: string, raw: string): HeaderTemplate {
  const eq = raw.indexOf('=');
  if (eq < 0) throw new FieldError(field, `to read NAME=VALUE like x-user=u{client}, got ${JSON.stringify(raw)}`);
  const name = raw.slice(0, eq);
  const value = raw.slice(eq + 1);
  if (!TOKEN.test(name)) {
    throw new FieldError(field, `name to be a header name (letters, digits and !#$%&'*+-.^_\`|~), got ${JSON.stringify(name)}`);
  }
  if (MANAGED.includes(name.toLowerCase())) {
    throw new FieldError(field, `name not to be one the HTTP client manages (${MANAGED.join(', ')}), got ${JSON.stringify(name)}`);
  }
  if (!FIELD_VALUE.test(value)) {
    throw new FieldError(field, `value to hold no line breaks or control characters, got ${JSON.stringify(value)}`);
  }
  const unknown = value.match(/\{[A-Za-z_]+\}/g)?.find((p) => !(HEADER_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown) {
    throw new FieldError(field, `placeholders to be ${HEADER_PLACEHOLDERS.join(' or ')}, got ${unknown}`);
  }
  return { name, value };
}
