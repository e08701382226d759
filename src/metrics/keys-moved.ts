import type { ClientTally } from '../load/client-tally.js';

/**
 * How long after a removal (ms) the requests a client sends are taken as the
 * new mapping: the change reaches the balancer thread a little after the
 * scheduled time. Requests are attributed by send time.
 */
export const REMOVE_SETTLE_MS = 250;

/** Keys that moved when a backend was taken out of the upstream, counted per virtual client. Fractions 0..1. */
export type KeysMoved = {
  /** The backend taken out. */
  removed: string;
  /** Clients with a backend both before and after. */
  clients: number;
  /** Of those, clients whose backend changed. */
  moved: number;
  movedFraction: number;
  /** Moved clients whose backend was NOT the removed one: what a consistent hash avoids. */
  movedFromKept: number;
  /** Clients the removed backend served before: they have to move. */
  ownClients: number;
  /** The least that must move: the removed backend's share of the total weight (1/n with equal weights). */
  idealFraction: number;
};

/**
 * Keys moved by removing backend `removed`, from a client tally split into
 * epochs around the removal (0: completed before it, 2: sent once the new
 * mapping settled): per virtual client, the backend that served most of its
 * requests before against after; clients seen in both count. `weights` and
 * `names` give the least share that must move. Undefined when the run ended
 * before the new mapping settled (fewer than three epochs).
 */
export function countKeysMoved(tally: ClientTally, removed: string, names: readonly string[], weights: readonly number[]): KeysMoved | undefined {
  if (tally.epochs.length <= 2) return undefined;
  let clients = 0;
  let moved = 0;
  let movedFromKept = 0;
  let ownClients = 0;
  for (const client of tally.epochs[0]!.perClient.keys()) {
    const before = tally.dominantBackend(0, client);
    const after = tally.dominantBackend(2, client);
    if (before === undefined || after === undefined) continue;
    clients++;
    if (before === removed) ownClients++;
    if (before !== after) {
      moved++;
      if (before !== removed) movedFromKept++;
    }
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const idealFraction = weights[names.indexOf(removed)]! / total;
  return { removed, clients, moved, movedFraction: clients > 0 ? moved / clients : 0, movedFromKept, ownClients, idealFraction };
}
