import type { ClientRequest } from './front-end.js';
import { parse as parseCookie } from 'cookie';
import { FieldError } from '../scenario/field-error.js';

/**
 * Where the hash algorithms (`consistent-hash`, `maglev`) take a request's
 * key from, as `--hash-key` names it: the client address (`ip`), the path
 * without the query (`path`), a request header (`header:NAME`) or a cookie
 * (`cookie:NAME`). nginx writes the same choices as `hash $remote_addr`,
 * `hash $uri`, `hash $http_name`, `hash $cookie_name`; Envoy as a
 * `hash_policy` of `connection_properties`, `header` or `cookie`.
 */
export type HashKeySource = { kind: 'ip' } | { kind: 'path' } | { kind: 'header'; name: string } | { kind: 'cookie'; name: string };

/** The default key: the client address. */
export const DEFAULT_HASH_KEY: HashKeySource = { kind: 'ip' };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `--hash-key ip | path | header:NAME | cookie:NAME`. Header names are
 * matched case-insensitively (stored lower-case); cookie names exactly.
 * @throws {FieldError} naming `flag` for anything else.
 */
export function parseHashKey(flag: string, value: string): HashKeySource {
  const v = value.trim();
  if (v === 'ip' || v === 'path') return { kind: v };
  const m = /^(header|cookie):(.+)$/.exec(v);
  if (m && TOKEN.test(m[2]!)) {
    return m[1] === 'header' ? { kind: 'header', name: m[2]!.toLowerCase() } : { kind: 'cookie', name: m[2]! };
  }
  throw new FieldError(flag, `to be ip, path, header:NAME or cookie:NAME, got ${JSON.stringify(value)}`);
}

/** Writes a key source back the way the user types it. */
export function formatHashKey(source: HashKeySource): string {
  return source.kind === 'header' || source.kind === 'cookie' ? `${source.kind}:${source.name}` : source.kind;
}

/**
 * The hash key of one request, or undefined when the request has none (no
 * such header or cookie, or an empty one). `clientIp` is the address the
 * balancer saw.
 */
export function requestHashKey(source: HashKeySource, req: Pick<ClientRequest, 'url' | 'headers'>, clientIp: string): string | undefined {
  switch (source.kind) {
    case 'ip':
      return clientIp || undefined;
    case 'path': {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      return q < 0 ? url : url.slice(0, q);
    }
    case 'header': {
      const h = req.headers[source.name];
      const v = Array.isArray(h) ? h.join(', ') : h;
      return v === undefined || v === '' ? undefined : v;
    }
    case 'cookie': {
      const header = req.headers.cookie;
      if (header === undefined) return undefined;
      const v = parseCookie(header)[source.name];
      return v === undefined || v === '' ? undefined : v;
    }
  }
}
