import type { GslbConfig } from '../scenario/regions.js';

/**
 * The GSLB tier's answer for every virtual client: the region it is sent
 * to (index into `config.regions`), as a DNS-based global server load
 * balancer with health checks answers a name lookup. `homes[i]` is client
 * i's own region; `healthy(backend)` whether a backend is in rotation (UP,
 * not draining, ejected or behind an open breaker); `weightOf(backend)` its
 * weight. A region is healthy while one of its backends is.
 * - `geo`: the healthy region nearest to the client's home (lowest RTT,
 *   then the first listed): its own while it has a healthy backend.
 * - `weighted`: the healthy regions in proportion to the weights of their
 *   healthy backends, each client placed by a fixed draw of its own (its
 *   index times the golden ratio, mod 1), so a client stays where it is
 *   while the weights do not change, as a DNS answer cached per resolver.
 * - `failover`: the first region listed that is healthy, for everyone.
 * When no region is healthy, each client is sent home (and gets the
 * balancer's 503 there): there is nothing better to answer.
 */
export function gslbAnswers(config: GslbConfig, homes: readonly number[], healthy: (backend: string) => boolean, weightOf: (backend: string) => number): number[] {
  const up = config.regions.map((r) => r.backends.some(healthy));
  const anyUp = up.some(Boolean);
  if (!anyUp) return [...homes];
  switch (config.policy) {
    case 'geo': {
      const nearest = config.regions.map((_, home) => {
        let best = -1;
        for (let r = 0; r < config.regions.length; r++) {
          if (!up[r]) continue;
          if (best < 0 || config.rttMs[home]![r]! < config.rttMs[home]![best]!) best = r;
        }
        return best;
      });
      return homes.map((h) => nearest[h]!);
    }
    case 'failover': {
      const first = up.indexOf(true);
      return homes.map(() => first);
    }
    case 'weighted': {
      const weights = config.regions.map((r) => r.backends.filter(healthy).reduce((sum, b) => sum + weightOf(b), 0));
      const total = weights.reduce((a, b) => a + b, 0);
      return homes.map((_, i) => {
        const draw = ((i * 0.6180339887498949) % 1) * total;
        let acc = 0;
        for (let r = 0; r < weights.length; r++) {
          acc += weights[r]!;
          if (draw < acc) return r;
        }
        return weights.findLastIndex((w) => w > 0);
      });
    }
  }
}

/** Where `answers` send the clients whose home is region `home`: `[region, clients]` pairs (indexes into the regions), most clients first. */
export function whereSent(homes: readonly number[], answers: readonly number[], home: number): Array<[region: number, clients: number]> {
  const counts = new Map<number, number>();
  homes.forEach((h, i) => {
    if (h === home) counts.set(answers[i]!, (counts.get(answers[i]!) ?? 0) + 1);
  });
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/**
 * How the answers changed for each home region, in words for the event
 * log: `us clients → eu (us has no healthy backend)`, `us clients back
 * in us`, or for `weighted` `us clients: us 6, eu 4`. Empty when nothing
 * changed.
 */
export function describeGslbChange(config: GslbConfig, homes: readonly number[], before: readonly number[], after: readonly number[]): string[] {
  const names = config.regions.map((r) => r.name);
  const out: string[] = [];
  for (let h = 0; h < names.length; h++) {
    const mine = homes.flatMap((home, i) => (home === h ? [i] : []));
    if (mine.length === 0 || mine.every((i) => before[i] === after[i])) continue;
    const to = whereSent(homes, after, h);
    if (to.length === 1) {
      const r = to[0]![0];
      const from = before[mine[0]!]!;
      out.push(r === h ? `${names[h]} clients back in ${names[h]}` : `${names[h]} clients → ${names[r]} (${from === h ? `${names[h]} has no healthy backend` : `from ${names[from]}`})`);
    } else out.push(`${names[h]} clients: ${to.map(([r, c]) => `${names[r]} ${c}`).join(', ')}`);
  }
  return out;
}
