import { createHmac, randomBytes } from 'node:crypto';

/**
 * Cookie insert as HAProxy `cookie NAME insert indirect nocache`: the
 * balancer gives each backend an opaque id and sets `NAME=<id>` on a response
 * to a client that did not already carry the id of the backend that answered.
 * The id is `base64url(HMAC-SHA256(key, name))` cut to its first 22
 * characters (128 bits), under a 32-byte key drawn at start: it says nothing of the backend's name or address, cannot be
 * guessed from them, and one not made by this balancer matches no backend.
 * `indirect`: the cookie is the balancer's business, so it is removed from
 * the `Cookie` header the backend sees, and a `Set-Cookie` of the same name
 * from a backend is dropped. `nocache`: a response that sets it is marked
 * not to be stored by shared caches.
 */
export class CookieInsert {
  private readonly idOf = new Map<string, string>();
  private readonly nameOf = new Map<string, string>();

  /**
   * @param name the cookie's name (an RFC 6265 token, checked by the caller).
   * @param backends every backend's name, in any order.
   * @param key the HMAC key; a fresh random 32 bytes unless given (tests give one to check the documented id).
   */
  constructor(
    readonly name: string,
    backends: readonly string[],
    key: Buffer = randomBytes(32),
  ) {
    for (const b of backends) {
      const id = createHmac('sha256', key).update(b).digest('base64url').slice(0, 22);
      this.idOf.set(b, id);
      this.nameOf.set(id, b);
    }
  }

  /** The opaque id the cookie carries for backend `backend`. */
  idFor(backend: string): string | undefined {
    return this.idOf.get(backend);
  }

  /**
   * The backend named by the first cookie `name` in a `Cookie` header whose
   * value is one of this balancer's ids; undefined when there is none (no
   * cookie, a forged, tampered or stale value: never trusted, just ignored).
   */
  backendOf(cookieHeader: string | string[] | undefined): string | undefined {
    if (cookieHeader === undefined) return undefined;
    for (const pair of (Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader).split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== this.name) continue;
      const backend = this.nameOf.get(pair.slice(eq + 1).trim());
      if (backend !== undefined) return backend;
    }
    return undefined;
  }

  /** Removes every `name=…` pair from the `cookie` header of an upstream request (`indirect`); drops the header if nothing is left. */
  stripRequest(headers: Record<string, string | string[]>): void {
    const header = headers.cookie;
    if (header === undefined) return;
    const kept = (Array.isArray(header) ? header.join('; ') : header).split(';').filter((pair) => {
      const eq = pair.indexOf('=');
      return (eq < 0 ? pair : pair.slice(0, eq)).trim() !== this.name && pair.trim() !== '';
    });
    if (kept.length === 0) delete headers.cookie;
    else headers.cookie = kept.map((p) => p.trim()).join('; ');
  }

  /**
   * Edits the client response headers of `backend`'s answer: drops a
   * `Set-Cookie` of this cookie's name sent by the backend (`indirect`), and
   * unless the client `carried` the id of this very backend, adds
   * `Set-Cookie: name=<id>; Path=/; HttpOnly` and `Cache-Control: private,
   * no-cache="set-cookie"` (`nocache`; HAProxy writes `private`, for caches
   * that ignore the field name). Returns whether it set the cookie.
   */
  applyResponse(headers: Record<string, string | string[]>, backend: string, carried: string | undefined): boolean {
    const prefix = `${this.name}=`;
    const own = headers['set-cookie'];
    const others = own === undefined ? [] : (Array.isArray(own) ? own : [own]).filter((c) => !c.trimStart().startsWith(prefix));
    if (carried === backend) {
      if (own !== undefined) setOrDrop(headers, 'set-cookie', others);
      return false;
    }
    headers['set-cookie'] = [...others, `${prefix}${this.idOf.get(backend)}; Path=/; HttpOnly`];
    const cc = headers['cache-control'];
    const nocache = 'private, no-cache="set-cookie"';
    headers['cache-control'] = cc === undefined ? nocache : `${Array.isArray(cc) ? cc.join(', ') : cc}, ${nocache}`;
    return true;
  }
}

function setOrDrop(headers: Record<string, string | string[]>, name: string, values: string[]): void {
  if (values.length === 0) delete headers[name];
  else headers[name] = values;
}
