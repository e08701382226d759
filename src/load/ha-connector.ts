import type { buildConnector } from 'undici';

/**
 * Where the clients of a balancer pair connect (`--balancers 2`):
 * `active-passive`, one virtual address; `dns-rr`, both balancers' own
 * addresses, as a name with two A records resolves.
 */
export type HaClientTarget = { mode: 'active-passive' | 'dns-rr'; addresses: string[] };

/** New connections so far: opened, refused first and opened on the other address (dns-rr), SYNs retransmitted to the virtual address (active-passive). */
export type ConnectTally = { opened: number; retried: number; retransmitted: number };

/** The first SYN retransmission's wait, ms: Linux's initial RTO (`TCP_TIMEOUT_INIT`, RFC 6298 §2.1: 1 s), doubled at each retransmission. */
export const SYN_RTO_MS = 1000;
/** SYN retransmissions before a connect to the virtual address fails: 3 (1 + 2 + 4 s), where Linux's `tcp_syn_retries` default of 6 waits over two minutes. */
export const SYN_RETRIES = 3;

/**
 * An undici connector for the clients of a balancer pair, wrapped around
 * undici's own (`base`, which does TCP and TLS).
 *
 * `dns-rr`: each new connection takes the next address of the list (the
 * first one rotated by `firstIndex`, so clients start on different
 * balancers, as DNS round robin rotates its answers) and, when that one
 * refuses, the other at once — as clients given several A records do
 * (counted in `tally.retried`).
 *
 * `active-passive`: a connect refused on the virtual address is retried
 * after {@link SYN_RTO_MS}, 2×, 4× ({@link SYN_RETRIES} times; counted in
 * `tally.retransmitted`). On a network the virtual address of a dead host
 * answers nothing until the backup announces it (gratuitous ARP), and the
 * client's TCP retransmits its SYN; on loopback the kernel refuses at once,
 * so the client does here what its TCP would have done there.
 */
export function haConnector(base: buildConnector.connector, target: HaClientTarget, firstIndex: number, tally: ConnectTally): buildConnector.connector {
  let next = firstIndex;
  const n = target.addresses.length;
  return (options, callback) => {
    const start = target.mode === 'dns-rr' ? next++ % n : 0;
    let retransmits = 0;
    const attempt = (i: number): void => {
      const hostname = target.addresses[(start + i) % n]!;
      base({ ...options, hostname }, (err, socket) => {
        if (!err) {
          tally.opened++;
          // Refused first, opened on another address.
          if (i > 0) tally.retried++;
          callback(null, socket!);
          return;
        }
        const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (refused && i + 1 < n) {
          attempt(i + 1);
        } else if (refused && target.mode === 'active-passive' && retransmits < SYN_RETRIES) {
          const waitMs = SYN_RTO_MS * 2 ** retransmits++;
          tally.retransmitted++;
          setTimeout(() => attempt(0), waitMs);
        } else callback(err, null);
      });
    };
    attempt(0);
  };
}
