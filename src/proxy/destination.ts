import { isIP } from 'node:net';
import { FieldError } from '../scenario/field-error.js';

/**
 * Which destinations lblab's forward proxy may reach: loopback, and the
 * `--allow host[:port]` entries. Checked on the name as the client wrote
 * it, before any DNS lookup (an open proxy is one that reaches anything;
 * one that resolves any name on request leaks lookups too), in the spirit
 * of Squid's `http_access deny !to_localhost` and `acl … dst` lists.
 */

/** One `--allow` entry: a host name or IP literal (lowercase, IPv6 without brackets), and the one port it allows (absent: every port). */
export type AllowEntry = { host: string; port?: number };

/** Where a request may go: the address to connect to (a loopback literal, or the allowed name) and port. */
export type Destination = { host: string; port: number };

/** The verdict on a destination: where to connect, or the rule that refused it in words. */
export type DestinationVerdict = { ok: true; connectTo: Destination } | { ok: false; rule: RefusalRule; message: string };

/** The rules a refusal names (sent in the `x-lblab-proxy-refused` header of the 403). */
export type RefusalRule = 'not-loopback-not-allowed' | 'port-not-allowed' | 'this-proxy';

/** Whether `host` (an IP literal, IPv6 without brackets) is a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(host: string): boolean {
  const v = isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v === 6) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host);
  return false;
}

/** `host` as compared: lowercase, IPv6 brackets and a trailing dot of a name dropped. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1);
  return h.endsWith('.') && isIP(h) === 0 ? h.slice(0, -1) : h;
}

/** `host:port` as a person writes it, IPv6 in brackets. */
export function formatAuthority(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Parses one `--allow host[:port]` (`example.test`, `10.0.0.5:8080`,
 * `[fd00::1]:443`).
 * @throws {FieldError} naming `flag` for an empty host, a bad port or a bracketless IPv6 with a port.
 */
export function parseAllow(flag: string, value: string): AllowEntry {
  const raw = value.trim();
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+)(?::(\d+))?$/.exec(raw);
  if (!m) {
    if (isIP(raw) === 6) return { host: normalizeHost(raw) };
    throw new FieldError(flag, `to be host[:port] like example.test or 10.0.0.5:8080 ([v6]:port for IPv6), got ${JSON.stringify(value)}`);
  }
  const host = normalizeHost(m[1]!);
  if (m[2] === undefined) return { host };
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new FieldError(flag, `port to be 1-65535, got ${JSON.stringify(value)}`);
  return { host, port };
}

/**
 * Decides whether the proxy may reach `host:port` as the client named it.
 * Loopback literals and `localhost` (always connected to 127.0.0.1, never
 * looked up) pass, but not the proxy's own address (127.0.0.1 or localhost
 * on `selfPort`: a request to itself would loop); an `--allow` entry passes its host (and its port
 * when it names one); everything else is refused by name, with no lookup.
 * Pure: no I/O.
 */
export function checkDestination(rawHost: string, port: number, allow: readonly AllowEntry[], selfPort?: number): DestinationVerdict {
  const host = normalizeHost(rawHost);
  const shown = formatAuthority(host, port);
  const loopback = host === 'localhost' || isLoopbackAddress(host);
  if (loopback) {
    if (selfPort !== undefined && port === selfPort && (host === 'localhost' || host === '127.0.0.1')) {
      return { ok: false, rule: 'this-proxy', message: `destination ${shown} is this proxy itself (a request to it would loop)` };
    }
    return { ok: true, connectTo: { host: host === 'localhost' ? '127.0.0.1' : host, port } };
  }
  const entries = allow.filter((a) => a.host === host);
  if (entries.some((a) => a.port === undefined || a.port === port)) return { ok: true, connectTo: { host, port } };
  if (entries.length > 0) {
    const ports = entries.map((a) => a.port).join(', ');
    return { ok: false, rule: 'port-not-allowed', message: `destination ${shown} is in --allow only on port ${ports}` };
  }
  return { ok: false, rule: 'not-loopback-not-allowed', message: `destination ${shown} is not loopback and not in --allow` };
}
