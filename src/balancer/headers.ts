
/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward, plus
 * `expect`, which undici refuses to send. Names listed in a `Connection`
 * header are hop-by-hop too and are removed as well.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** Header values as node:http and undici hand them over. */
export type HeaderMap = Record<string, string | string[] | undefined>;

function connectionTokens(headers: HeaderMap): Set<string> | undefined {
  const value = headers.connection;
  // The usual values name no other header: skip the split on the request path.
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  const tokens = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const t = part.trim().toLowerCase();
    if (t) tokens.add(t);
  }
  return tokens;
}

/**
 * A new object with the end-to-end headers of `headers`: the hop-by-hop
 * ones (RFC 9110 §7.6.1), those `Connection` names and HTTP/2
 * pseudo-headers (`:path`, `:authority`…, RFC 9113 §8.3: an HTTP/1.1
 * backend gets the request line and Host instead) left out. Shared by the
 * balancer and the forward proxy (`src/proxy/`).
 */
export function endToEnd(headers: HeaderMap): Record<string, string | string[]> {
  const drop = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || drop?.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Copies end-to-end headers of a client request for the upstream request and
 * appends the client address to `X-Forwarded-For` and sets
 * `X-Forwarded-Proto` to the scheme the client used, `http`, or `https`
 * when the balancer terminates TLS (as nginx `proxy_add_x_forwarded_for`,
 * `$scheme`). `Host` is kept (HAProxy's behaviour). Returns a new object.
 */
export function upstreamRequestHeaders(incoming: HeaderMap, clientIp: string, proto: 'http' | 'https' = 'http'): Record<string, string | string[]> {
  const out = endToEnd(incoming);
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${clientIp}` : clientIp;
  out['x-forwarded-proto'] = proto;
  return out;
}

/**
 * Copies end-to-end headers of an upstream response for the client and sets
 * `x-lblab-backend: <backend>` so any client can see who answered.
 * Returns a new object.
 */
export function clientResponseHeaders(upstream: HeaderMap, backend: string): Record<string, string | string[]> {
  const out = endToEnd(upstream);
  out['x-lblab-backend'] = backend;
  return out;
}

/**
 * Whether a request head carries more than one `Host` field, from Node's
 * `rawHeaders` (name, value, name, value…). RFC 9112 §3.2: a server must
 * answer 400 to a request with more than one `Host`; node:http keeps the
 * first and drops the rest, so the proxy looks at the raw list itself.
 */
export function hasDuplicateHost(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
