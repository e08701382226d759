import { randomBytes } from 'node:crypto';

/**
 * Where a backend keeps its users' sessions (`--sessions`): `memory`, a map
 * in each backend's own process (what sticky sessions protect: another
 * backend does not know the user); `shared`, one store every backend reads
 * and writes (a real `redis-server`); `token`, nowhere: the session travels
 * in a signed token (a JWT, HS256) the client sends back, which any backend
 * holding the key can verify — stateless sessions.
 */
export const SESSION_MODES = ['memory', 'shared', 'token'] as const;

/** One of {@link SESSION_MODES}. */
export type SessionMode = (typeof SESSION_MODES)[number];

/** Each mode in words, for the lab's run lines and the report's Sessions section: `memory: each backend its own map`. */
export const SESSION_MODE_WORDS: Record<SessionMode, string> = {
  memory: 'memory: each backend its own map',
  shared: 'shared: one redis-server for all backends',
  token: 'token: a signed JWT the client carries, nothing stored',
};

/** Whether `value` is one of {@link SESSION_MODES}. */
export function isSessionMode(value: string): value is SessionMode {
  return (SESSION_MODES as readonly string[]).includes(value);
}

/** The cookie that carries a session: its id (`memory`, `shared`) or its signed token (`token`). */
export const SESSION_COOKIE = 'lblab_session';

/** The response header that says what became of the request's session: `new`, `found` or `lost` (see {@link SessionOutcome}). */
export const SESSION_HEADER = 'x-lblab-session';

/**
 * What a backend did with a request's session: `new` — the request carried
 * none, so the user logged in (a new session, `Set-Cookie`); `found` — the
 * session it carried was found (or its token verified) and a visit counted;
 * `lost` — it carried one this backend cannot find or verify (another
 * backend's memory, an expired token, a store that does not answer): the
 * user is logged out, and logged in anew with a new session.
 */
export type SessionOutcome = 'new' | 'found' | 'lost';

/** The outcomes as the load generator codes them: 0 = no session header, then new, found, lost. */
export const SESSION_OUTCOME_CODES = ['none', 'new', 'found', 'lost'] as const;

/** One request's session: what became of it, the visits it counts now (1 for a new one), and the `Set-Cookie` to send, if any. */
export type SessionVisit = { outcome: SessionOutcome; visits: number; setCookie?: string };

/** Sessions idle this long end (ms): 30 minutes, a common default for web sessions. */
export const SESSION_IDLE_MS = 30 * 60_000;

/** Most sessions a `memory` backend keeps; past it the least recently used one is dropped (bounded memory in long runs). */
export const MEMORY_SESSIONS_MAX = 100_000;

/** How a backend keeps sessions: the mode, with the store's URL (`shared`) or the signing key (`token`). */
export type SessionConfig = { mode: 'memory' } | { mode: 'shared'; storeUrl: string } | { mode: 'token'; key: Uint8Array };

/** A backend's sessions: {@link visit} reads the request's session (by its `Cookie` header) and counts a visit, or logs the user in. */
export interface SessionStore {
  readonly mode: SessionMode;
  /** Never rejects: a store that fails gives `lost` (the user's session cannot be read). */
  visit(cookieHeader: string | undefined): Promise<SessionVisit>;
  close(): Promise<void>;
}

/** The environment variable a forked backend reads the `shared` store's URL from (it may hold a password: kept out of argv). */
export const SESSION_STORE_ENV = 'LBLAB_SESSION_STORE';

/** The environment variable a backend reads the `token` signing key from (base64url, 32 bytes); without it a backend draws its own. */
export const SESSION_KEY_ENV = 'LBLAB_SESSION_KEY';

/** A fresh 32-byte HS256 key, as base64url (what {@link SESSION_KEY_ENV} carries). */
export function newSessionKey(): string {
  return randomBytes(32).toString('base64url');
}

