import type { LoadConfig, LoadGenerator as LoadGeneratorType } from '../../src/load/load-generator.js';
import type { Closers } from './loopback.js';

type LoadModule = typeof import('../../src/load/load-generator.js');
/** The load generator from dist/ (built by `npm test`): its worker thread must be compiled JavaScript. */
export const { LoadGenerator } = (await import(new URL('../../dist/load/load-generator.js', import.meta.url).href)) as LoadModule;

/**
 * Starts the load generator (worker threads, from dist/) with `config` and
 * resolves once it is done (by count or time); its stop is pushed to
 * `closers` so a failed test still stops it.
 */
export async function runLoad(config: LoadConfig, closers: Closers): Promise<LoadGeneratorType> {
  const load = new LoadGenerator(config);
  closers.push(() => load.stop());
  load.start();
  await load.done();
  return load;
}
