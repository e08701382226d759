import { isIP } from 'node:net';
import { FieldError } from './field-error.js';

/**
 * Checks that `address` is an IPv4 loopback address (127.0.0.0/8): lblab
 * binds nothing else.
 * @throws {FieldError} naming `flag` otherwise.
 */
export function validateLoopback(flag: string, address: string): string {
  if (isIP(address) !== 4 || !address.startsWith('127.')) {
    throw new FieldError(flag, `to be a loopback address in 127.0.0.0/8, got ${JSON.stringify(address)}`);
  }
  return address;
}

/**
 * Checks that `url` points at this machine (127.0.0.0/8, localhost or
 * [::1]): lblab only sends traffic to loopback.
 * @throws {FieldError} naming `flag` otherwise.
 */
export function requireLoopbackUrl(flag: string, url: URL): URL {
  const host = url.hostname;
  const ok = host === 'localhost' || host === '[::1]' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!ok) {
    throw new FieldError(flag, `to point at loopback (127.0.0.0/8, localhost or [::1]), got ${JSON.stringify(url.href)}`);
  }
  return url;
}
