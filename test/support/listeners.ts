import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `127.0.0.10` as /proc/net/tcp writes it: the four bytes in host (little-endian) order, hex. */
function procAddress(ip: string): string {
  return ip
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0').toUpperCase())
    .join('');
}

/**
 * The pid of the process listening on `ip:port` (TCP, IPv4), read from
 * /proc/net/tcp (the socket's inode) and /proc/<pid>/fd (who holds it);
 * undefined when nobody listens there. Linux only, like the rest of the tests.
 */
export function listenerPid(ip: string, port: number): number | undefined {
  const local = `${procAddress(ip)}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  const line = readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === local && f[3] === '0A');
  if (!line) return undefined;
  const socket = `socket:[${line[9]}]`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === socket) return Number(entry);
      }
    } catch {
      // Not ours to read, or it ended while we looked.
    }
  }
  return undefined;
}
