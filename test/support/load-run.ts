import type { LoadConfig, LoadGenerator as LoadGeneratorType } from '../../src/load/load-generator.js';
import type { Closers } from './loopback.js';

type LoadModule = typeof import('../../src/load/load-generator.js');
/** The load generator from dist/ (built by `npm test`): its worker thread must be compiled JavaScript. */
const { LoadGenerator } = (await import(new URL('../../dist/load/load-generator.js', import.meta.url).href)) as LoadModule;

/** Runs the load generator with `config` until it is done (by count or time); registered in `closers` so a failed test still stops it. */
export async function runLoad(config: LoadConfig, closers: Closers): Promise<LoadGeneratorType> {
  const load = new LoadGenerator(config);
  closers.push(() => load.stop());
  load.start();
  await load.done();
  return load;
}
