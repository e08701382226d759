import { isIP } from 'node:net';
import { parseSetCookie } from 'cookie';

/** One stored cookie. `expiresAt` in ms since the Unix epoch (Infinity: a session cookie, kept for the run). */
type StoredCookie = { name: string; value: string; path: string; secure: boolean; expiresAt: number };

/**
 * The cookie jar of one virtual client talking to one origin (lblab's load
 * generator sends every request to the same host): what a browser keeps
 * for that site, so that cookie-based sticky sessions (HAProxy `cookie
 * SERVERID insert`) see a client come back with its cookie.
 *
 * Storage and sending follow RFC 6265 section 5.3 and 5.4 for one host:
 * a cookie is keyed by name and path; `Max-Age` wins over `Expires`, and
 * either in the past (Max-Age ≤ 0) deletes it; without `Path` (or with one
 * not starting with `/`) the default path of the request URI is used
 * (5.1.4); a cookie is sent only on requests whose path path-matches its
 * own (5.1.4), `Secure` ones only over https; longer paths go first in
 * `Cookie` (5.4 step 2). A `Domain` that does not domain-match the host
 * makes the cookie ignored (5.3 step 6). Set-Cookie headers are parsed
 * with the `cookie` package; values are kept as sent, not decoded.
 */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();
  private readonly host: string;

  /** `host` is the target's hostname (an IP on loopback, or `localhost`). */
  constructor(host: string) {
    // URL.hostname keeps the brackets of an IPv6 literal.
    this.host = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  }

  /** Number of cookies held (expired ones included until the next {@link cookieHeader}). */
  get size(): number {
    return this.cookies.size;
  }

  /**
   * Stores the cookies of a response: `setCookie` is its `Set-Cookie` header
   * values (undici gives a string for one, an array for several),
   * `requestPath` the path the request was sent to (for the default path),
   * `at` the time in ms since the Unix epoch (default now). Malformed entries (no name)
   * are ignored, as RFC 6265 5.2 says.
   */
  store(setCookie: string | string[] | undefined, requestPath: string, at?: number): void {
    // Most responses set nothing: no clock read for them.
    if (setCookie === undefined) return;
    const nowMs = at ?? Date.now();
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const parsed = parseSetCookie(line, { decode: (s) => s });
      if (!parsed.name || parsed.value === undefined) continue;
      if (parsed.domain !== undefined && !domainMatches(this.host, parsed.domain)) continue;
      const path = parsed.path?.startsWith('/') ? parsed.path : defaultPath(requestPath);
      let expiresAt = Infinity;
      if (parsed.maxAge !== undefined && Number.isFinite(parsed.maxAge)) expiresAt = parsed.maxAge <= 0 ? -Infinity : nowMs + parsed.maxAge * 1000;
      else if (parsed.expires !== undefined && !Number.isNaN(parsed.expires.getTime())) expiresAt = parsed.expires.getTime();
      const key = `${parsed.name}\u0000${path}`;
      if (expiresAt <= nowMs) {
        this.cookies.delete(key);
        continue;
      }
      this.cookies.set(key, { name: parsed.name, value: parsed.value, path, secure: parsed.secure === true, expiresAt });
    }
  }

  /**
   * The `Cookie` header value for a request to `requestPath` (`secure`: over
   * https) at `nowMs` (ms since the Unix epoch), or undefined when no cookie
   * applies. Expired cookies are dropped on the way.
   */
  cookieHeader(requestPath: string, secure: boolean, nowMs: number = Date.now()): string | undefined {
    if (this.cookies.size === 0) return undefined;
    const q = requestPath.indexOf('?');
    const path = (q < 0 ? requestPath : requestPath.slice(0, q)) || '/';
    const out: StoredCookie[] = [];
    for (const [key, c] of this.cookies) {
      if (c.expiresAt <= nowMs) {
        this.cookies.delete(key);
        continue;
      }
      if ((c.secure && !secure) || !pathMatches(path, c.path)) continue;
      out.push(c);
    }
    if (out.length === 0) return undefined;
    // Stable sort: among equal path lengths the earlier stored goes first, as 5.4 step 2 suggests.
    if (out.length > 1) out.sort((a, b) => b.path.length - a.path.length);
    return out.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

/** RFC 6265 5.1.4 default-path: the request path up to (not including) its last `/`, or `/`. */
export function defaultPath(requestPath: string): string {
  const path = requestPath.split('?')[0] ?? '';
  if (!path.startsWith('/')) return '/';
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

/** RFC 6265 5.1.4 path-match: equal, or `cookiePath` a prefix ending in `/` or followed by `/` in `requestPath`. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 5.1.3 domain-match of `host` against a `Domain` attribute (a leading dot ignored, as 5.2.3 says); an IP matches only itself. */
function domainMatches(host: string, domain: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  if (host === d) return true;
  return isIP(host) === 0 && host.endsWith(`.${d}`);
}
