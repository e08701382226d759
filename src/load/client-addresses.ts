import net from 'node:net';
import { UsageError } from '../errors.js';

/** Most virtual clients lblab runs (`--clients`). */
export const MAX_CLIENTS = 10_000;

/** Hosts per /24 in the packed scheme: .2 to .254 (.0 and .255 look like network and broadcast addresses, .1 is the servers'). */
const HOSTS_PER_24 = 253;

/**
 * The source address of virtual client `index` (0-based), inside
 * 127.0.0.0/8 (which Linux routes to the loopback interface whole).
 *
 * Packed (default): 127.0.0.2, 127.0.0.3 … 127.0.0.254, then 127.0.1.2 …,
 * 127.0.2.2 …: clients share a /24 253 at a time.
 *
 * Spread (`spread` true): 127.(1 + (i >> 8)).(i & 255).1, one /24 per client
 * (127.1.0.1, 127.1.1.1 … 127.1.255.1, 127.2.0.1 …), so a hash of the first
 * three octets (nginx `ip_hash` on IPv4) tells every client apart.
 */
export function clientAddress(index: number, spread = false): string {
  if (spread) return `127.${1 + (index >> 8)}.${index & 255}.1`;
  return `127.0.${Math.floor(index / HOSTS_PER_24)}.${2 + (index % HOSTS_PER_24)}`;
}

/**
 * Checks that this machine can bind the source addresses of `count` clients
 * by listening briefly (port 0) on the first and the last: Linux can, other
 * systems only know 127.0.0.1 unless aliases were added.
 * @throws {UsageError} naming `--clients` when an address cannot be bound.
 */
export async function checkClientAddresses(count: number, spread = false): Promise<void> {
  for (const address of new Set([clientAddress(0, spread), clientAddress(count - 1, spread)])) {
    const server = net.createServer();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(0, address, () => resolve(undefined));
    });
    if (!error) {
      await new Promise((resolve) => server.close(resolve));
      continue;
    }
    throw new UsageError(
      `Expected \`--clients\` source addresses to be usable on this machine, but ${address} cannot be bound (${error.code ?? error.message}); Linux routes all of 127.0.0.0/8 to loopback, elsewhere add aliases (e.g. ifconfig lo0 alias ${address})`,
    );
  }
}
