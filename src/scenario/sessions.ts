import { isSessionMode, SESSION_MODES, type SessionMode } from '../backend/sessions.js';
import { FieldError } from './field-error.js';
import { requireLoopbackUrl } from './loopback.js';

/**
 * Reads `--sessions` (a lab's `sessions`): where the backends keep user
 * sessions, one of `memory`, `shared`, `token` (see `SESSION_MODES`).
 * @throws {FieldError} naming `field` for anything else.
 */
export function parseSessionMode(field: string, value: string): SessionMode {
  if (!isSessionMode(value)) throw new FieldError(field, `to be one of ${SESSION_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Reads the URL of a shared session store (`lblab backend --session-store`):
 * `redis://[:password@]host:port` on loopback.
 * @throws {FieldError} naming `field` when it is not such a URL.
 */
export function parseSessionStoreUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldError(field, `to be a redis:// URL like redis://127.0.0.1:6379, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'redis:') throw new FieldError(field, `to be a redis:// URL like redis://127.0.0.1:6379, got ${JSON.stringify(value)}`);
  requireLoopbackUrl(field, url);
  return value;
}
