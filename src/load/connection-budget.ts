import { readFileSync } from 'node:fs';

/** Assumed when the limit cannot be read (no /proc): the common soft limit on Linux. */
const FALLBACK_LIMIT = 1024;
/** Descriptors left for everything that is not a client connection (backends' pools, health checks, pipes, files). */
const RESERVE = 512;
/** Fewest client dispatchers kept open, however low the limit. */
const MIN_BUDGET = 64;

/**
 * This process's soft limit on open file descriptors (Linux
 * `/proc/self/limits`; Node raises it to the hard limit at start-up), or
 * 1024 when it cannot be read.
 */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // Not Linux.
  }
  return FALLBACK_LIMIT;
}

/**
 * How many virtual clients may keep connections open at once in this
 * process, given `limit` open files: a third of what is left after a
 * reserve, since under `lblab start` each client connection costs two
 * descriptors here (the client's end and the balancer's) plus the
 * balancer's own connections. Clients beyond it close their idle
 * connections, least recently used first, and connect again when their
 * turn comes, as a browser drops idle connections.
 */
export function openClientBudget(limit: number = openFileLimit()): number {
  return Math.max(MIN_BUDGET, Math.floor((limit - RESERVE) / 3));
}
