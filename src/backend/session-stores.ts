import { randomBytes, webcrypto } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { jwtVerify, SignJWT } from 'jose';
import { RuntimeError } from '../errors.js';
import { MEMORY_SESSIONS_MAX, SESSION_COOKIE, SESSION_IDLE_MS, type SessionConfig, type SessionStore, type SessionVisit } from './sessions.js';

/**
 * Opens the sessions of one backend.
 * @throws {RuntimeError} when `shared` cannot reach its store.
 */
export async function openSessions(config: SessionConfig): Promise<SessionStore> {
  switch (config.mode) {
    case 'memory':
      return memorySessions();
    case 'shared':
      return sharedSessions(config.storeUrl);
    case 'token':
      // Imported once: jose would import raw bytes on every sign and verify (about 4× the cost per request).
      return tokenSessions(await webcrypto.subtle.importKey('raw', config.key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));
  }
}

/** The session cookie's value in a `Cookie` header, if any. */
function sessionCookie(header: string | undefined): string | undefined {
  if (header === undefined || !header.includes(SESSION_COOKIE)) return undefined;
  const value = parseCookie(header)[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

/** `Set-Cookie` for `value`: a browser session cookie, sent back on every path, not readable by scripts. */
function setCookie(value: string): string {
  return stringifySetCookie({ name: SESSION_COOKIE, value, path: '/', httpOnly: true, sameSite: 'lax' });
}

/** A new random session id (128 bits, base64url). */
function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Sessions in this process's memory: a map from id to visits, idle ones
 * ending after {@link SESSION_IDLE_MS}, at most {@link MEMORY_SESSIONS_MAX}
 * (least recently used dropped first). Another backend, or this one after a
 * restart, knows none of them.
 */
function memorySessions(): SessionStore {
  const sessions = new Map<string, { visits: number; lastMs: number }>();
  return {
    mode: 'memory',
    async visit(header) {
      const id = sessionCookie(header);
      const now = Date.now();
      const s = id === undefined ? undefined : sessions.get(id);
      if (id !== undefined && s && now - s.lastMs < SESSION_IDLE_MS) {
        // Re-inserted: the map's order is least recently used first.
        sessions.delete(id);
        s.visits++;
        s.lastMs = now;
        sessions.set(id, s);
        return { outcome: 'found', visits: s.visits };
      }
      if (id !== undefined) sessions.delete(id);
      const fresh = newId();
      sessions.set(fresh, { visits: 1, lastMs: now });
      if (sessions.size > MEMORY_SESSIONS_MAX) sessions.delete(sessions.keys().next().value!);
      return { outcome: id === undefined ? 'new' : 'lost', visits: 1, setCookie: setCookie(fresh) };
    },
    close: async () => sessions.clear(),
  };
}

/** Counts a visit of an existing session and refreshes its expiry; nil when there is no such session. One round trip, atomic. */
const VISIT_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 1 then local v = redis.call('INCR', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[1]); return v else return false end";

/**
 * Sessions in a store every backend shares: a `redis-server`, reached with
 * the `redis` client. A session is the key `lblab:session:<id>` holding its
 * visits, expiring after {@link SESSION_IDLE_MS} idle. Commands fail at once
 * while the store is unreachable (no offline queue): the request's session
 * is then `lost`, not held up.
 * @throws {RuntimeError} when the store cannot be reached at start.
 */
async function sharedSessions(url: string): Promise<SessionStore> {
  const { createClient } = await import('redis');
  let connected = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      // At start, one try: a store that is not there is said at once. Later, reconnect with a short backoff.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * (retries + 1), 500) : cause),
    },
  });
  client.on('error', () => {
    // Reported by the command that fails (the session is lost); a client without a listener would crash the backend.
  });
  try {
    await client.connect();
  } catch (err) {
    throw new RuntimeError(`the session store at ${redactedUrl(url)} cannot be reached: ${(err as Error).message}`);
  }
  connected = true;
  const key = (id: string): string => `lblab:session:${id}`;
  const login = async (outcome: 'new' | 'lost'): Promise<SessionVisit> => {
    const id = newId();
    await client.set(key(id), '1', { expiration: { type: 'PX', value: SESSION_IDLE_MS } });
    return { outcome, visits: 1, setCookie: setCookie(id) };
  };
  return {
    mode: 'shared',
    async visit(header) {
      const id = sessionCookie(header);
      try {
        if (id === undefined) return await login('new');
        const visits = await client.eval(VISIT_SCRIPT, { keys: [key(id)], arguments: [String(SESSION_IDLE_MS)] });
        if (typeof visits === 'number') return { outcome: 'found', visits };
        return await login('lost');
      } catch {
        return { outcome: 'lost', visits: 0 };
      }
    },
    async close() {
      connected = false;
      client.destroy();
    },
  };
}

/** A store URL as it may be shown: without its password. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Stateless sessions: the session is a JWT (HS256, the `jose` library) with
 * its id (`sub`) and visits, signed with `key`, expiring after
 * {@link SESSION_IDLE_MS}; every response carries the token with the visit
 * counted. Nothing is stored: any backend with the key verifies any token,
 * so none is lost when a backend dies. A token that does not verify
 * (another key, tampered, expired) is `lost`. `key`: the HMAC SHA-256 key, imported.
 */
function tokenSessions(key: webcrypto.CryptoKey): SessionStore {
  const sign = (sub: string, visits: number): Promise<string> =>
    new SignJWT({ visits }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(new Date(Date.now() + SESSION_IDLE_MS)).sign(key);
  return {
    mode: 'token',
    async visit(header) {
      const token = sessionCookie(header);
      if (token !== undefined) {
        try {
          const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
          const visits = (typeof payload.visits === 'number' ? payload.visits : 0) + 1;
          return { outcome: 'found', visits, setCookie: setCookie(await sign(payload.sub ?? newId(), visits)) };
        } catch {
          // Not one of ours, or expired: logged out.
        }
      }
      return { outcome: token === undefined ? 'new' : 'lost', visits: 1, setCookie: setCookie(await sign(newId(), 1)) };
    },
    close: async () => undefined,
  };
}
