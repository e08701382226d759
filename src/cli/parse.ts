import { FieldError } from '../scenario/field-error.js';

/** Parsers of command-line syntax that is the CLI's own (a URL argument, `name=value` per backend). */

/**
 * Splits a per-backend value such as `b4=200ms` into the backend name and the
 * value; a value without `name=` applies to every backend (name `undefined`).
 */
export function splitPerBackend(value: string): { name: string | undefined; value: string } {
  const m = /^\s*([A-Za-z][\w-]*)=(.*)$/.exec(value);
  return m ? { name: m[1]!, value: m[2]! } : { name: undefined, value };
}

/**
 * Checks that `url` is an absolute http:// URL (or https:// too with
 * `allowHttps`) and returns it parsed.
 * @throws {FieldError} naming `flag` otherwise.
 */
export function parseHttpUrl(flag: string, value: string, allowHttps = false): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldError(flag, `to be a URL like http://127.0.0.1:8001, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && !(allowHttps && url.protocol === 'https:')) {
    throw new FieldError(flag, `to be an http://${allowHttps ? ' or https://' : ''} URL, got ${JSON.stringify(value)}`);
  }
  return url;
}
