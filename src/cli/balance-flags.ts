import type { Command } from 'commander';
import type { BalancerConfig } from '../balancer/balancer.js';
import { UsageError } from '../errors.js';
import { FieldError } from '../scenario/field-error.js';
import { requireLoopbackUrl } from '../scenario/loopback.js';
import { resolveUpstream } from '../scenario/resolve.js';
import type { UpstreamScenario } from '../scenario/scenario.js';
import { flagOf, inputFromFlags } from './options.js';
import { parseHttpUrl, splitPerBackend } from './parse.js';

/** The help of `--backend`, on `balance` and `export`. */
export const BACKEND_HELP = 'a backend: URL or name=URL (repeatable, in order b1..bn)';

/** Commander's collector of the repeatable `--backend`. */
export const collectBackend = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * The balancer of the `balance` flags (or `export`'s, the same): the `--backend` servers (loopback
 * origins, b1..bn unless named) with the upstream scenario resolved as
 * `start` resolves its own, weights all 1 unless given, checks on `/`.
 * @throws {UsageError} naming the first bad flag.
 */
export function parseBalance(urls: readonly string[], command: Command, as: 'balance' | 'export'): BalancerConfig & UpstreamScenario {
  if (urls.length === 0) throw new UsageError('Expected at least one `--backend` URL, got none');
  const backends = urls.map((raw, i) => {
    const { name, value } = raw.includes('://') && !/^[A-Za-z][\w-]*=/.test(raw) ? { name: undefined, value: raw } : splitPerBackend(raw);
    const url = requireLoopbackUrl('--backend', parseHttpUrl('--backend', value));
    if ((url.pathname !== '/' && url.pathname !== '') || url.search) {
      throw new FieldError('--backend', `to be an origin like http://127.0.0.1:8001 (no path: requests keep theirs), got ${JSON.stringify(value)}`);
    }
    return { name: name ?? `b${i + 1}`, url: url.origin };
  });
  const dup = backends.find((b, i) => backends.findIndex((x) => x.name === b.name) !== i);
  if (dup) throw new FieldError('--backend', `name to be unique, got ${dup.name} twice`, true);
  const upstream = resolveUpstream(
    inputFromFlags(command, as),
    backends.map((b) => b.name),
    { name: flagOf, defaultWeights: 'equal', healthPath: '/', defaultPort: 8080 },
  );
  return {
    ...upstream,
    backends: backends.map((b, i) => ({ ...b, weight: upstream.weights[i]!, ...(upstream.backups.includes(b.name) ? { backup: true } : {}) })),
  };
}
