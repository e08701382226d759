import { UsageError } from '../errors.js';
import { findEngineProgram, type EngineName } from '../engines/engines.js';
import { checkEngineSupport } from '../engines/support.js';
import type { Lab } from './lab.js';
import { findSessionStoreProgram } from '../backend/session-store.js';

/**
 * Lab `lab` as it runs on `engine` (`lblab lab run NAME --engine haproxy`):
 * every run's scenario balanced by that engine, and only the expectations
 * that hold on it (an expectation's `engines`, absent: all).
 * @throws {UsageError} (exit 2) when the lab is not valid for the engine (its
 * `engines:`), when the engine cannot do what a run asks (the field named
 * as the lab file writes it, the closest setting given), or when the
 * engine's program is missing, when a run has two balancers (lblab's own
 * only), or `redis-server` when a run keeps its
 * sessions in a shared store: said before the first run starts.
 */
export function labOnEngine(lab: Lab, engine: EngineName): Lab {
  if (!lab.engines.includes(engine)) {
    throw new UsageError(`Expected \`--engine\` to be one lab ${lab.name} runs on (${lab.engines.join(', ')}), got ${engine}: its text says why (lblab lab explain ${lab.name})`);
  }
  if (engine !== 'lblab') {
    const asked = `lblab lab run ${lab.name} --engine ${engine}`;
    const paired = lab.runs.find((r) => r.config.ha);
    if (paired) throw new UsageError(`Expected a lab with one balancer for \`${asked}\`, got a run with \`balancers: 2\`${lab.runs.length > 1 ? ` (run ${paired.name})` : ''}: lblab runs its own balancer twice, and a keepalived pair of ${engine} processes is not built`);
    for (const run of lab.runs) {
      checkEngineSupport(engine, run.config, (path) => (lab.runs.length > 1 ? `${path}\` of run \`${run.name}` : path), run.config.events, asked);
    }
    findEngineProgram(engine);
  }
  if (lab.runs.some((r) => r.config.sessions === 'shared')) findSessionStoreProgram();
  return {
    ...lab,
    runs: lab.runs.map((r) => ({ ...r, config: { ...r.config, engine } })),
    expectations: lab.expectations.filter((e) => e.engines === undefined || e.engines.includes(engine)),
  };
}
