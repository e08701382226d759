import type { Command } from 'commander';
import { ALGORITHMS, algorithmsHelp, isAlgorithmName, usesHashKey, usesWeights, type AlgorithmName } from '../balancer/algorithms/index.js';
import { UsageError } from '../errors.js';
import { ENGINES, findEngineProgram, isEngineName } from '../engines/engines.js';
import { REMOVE_SETTLE_MS } from '../metrics/keys-moved.js';
import type { ScenarioInput } from '../scenario/input.js';
import { resolveScenario } from '../scenario/resolve.js';
import type { RunScenario } from '../scenario/scenario.js';
import type { ComparePlan } from './compare-run.js';
import { CLIENTS_HELP } from './help-sections.js';
import { addOptionGroup, flagOf, inputFromFlags } from './options.js';
import { checkOutputPaths } from './output.js';

/** The `compare` flags that are not scenario fields: the algorithms to compare, the removal, the run length and how the comparison is kept. */
type CompareFlags = { algos: string; algo?: string; engines: string; remove?: string; duration: string; json?: boolean; out?: string; html?: string };

/** What `compare` defaults to: the classic slow-backend comparison of the course. */
const DEFAULT_ALGOS = 'round-robin,least-conn,p2c,least-response-time';

/** `lblab compare`: one scenario under several algorithms, one after the other, side by side. */
export function registerCompareCommand(program: Command): void {
  const cmd = program
    .command('compare')
    .description('run one scenario under several algorithms, one after the other on fresh backends, and print them side by side')
    .option('--algos <list>', `comma-separated algorithms to compare (${ALGORITHMS.join(', ')})`, DEFAULT_ALGOS)
    .option('--algo <name>', 'one algorithm, to compare engines with (the same as --algos NAME)')
    .option('--engines <list>', `comma-separated engines to run each algorithm on (${ENGINES.join(', ')}): one column per algorithm and engine`, 'lblab');
  addOptionGroup(cmd, 'duration', 'compare').option(
    '--remove <backend>',
    'take this backend out of the upstream halfway through each run, and count the virtual clients whose backend changed (needs --clients)',
  );
  addOptionGroup(addOptionGroup(cmd, 'scenario', 'compare'), 'clients', 'compare').addHelpText('after', CLIENTS_HELP);
  cmd
    .option('--json', 'print the comparison as one JSON object instead of the table')
    .option('--out <file>', 'also write the comparison JSON to FILE')
    .option('--html <file>', 'also write the comparison as one self-contained HTML page (the table, then every run\'s report with its charts) to FILE');
  for (const group of ['health', 'proxy'] as const) addOptionGroup(cmd, group, 'compare');
  cmd
    .addHelpText(
      'after',
      `
Examples:
  lblab compare --algos round-robin,least-conn,p2c,least-response-time \\
    --backends 4 --latency b4=100ms --concurrency 32 --duration 10s
  lblab compare --algos ip-hash,consistent-hash,maglev --backends 5 --clients 200 --remove b3
  lblab compare --algos round-robin,least-conn --sticky ip:1m --clients 50 --latency b3=50ms
  lblab compare --algos round-robin,least-conn --latency b3=50ms --duration 5s --html cmp.html
  lblab compare --engines lblab,haproxy,nginx --algo weighted --weights 5,1,1 --backends 3 \
    --event "3s kill b2" --duration 10s

Each algorithm gets fresh backends and the same scenario; the runs follow one
another (about duration + 1 s each). Progress goes to stderr, the comparison
to stdout. --weights apply to the algorithms that use weights; the others see
equal weights. With --remove, a client's backend is the one that served most
of the requests it sent before the removal, and of those it sent from
${REMOVE_SETTLE_MS} ms after it (once the change has reached the balancer); "keys moved"
is the share of clients whose backend changed.

${algorithmsHelp()}`,
    )
    .action(async (o: CompareFlags, command: Command) => {
      const plan = parseCompare(o, inputFromFlags(command, 'compare'), command.getOptionValueSource('algos') === 'cli');
      checkOutputPaths(o.out, o.html);
      const { runCompare } = await import('./compare-run.js');
      await runCompare(plan, { json: o.json, out: o.out, html: o.html });
    });
}


/**
 * Validates the `compare` flags into one scenario per algorithm (each
 * resolved as `start` resolves its own, with the same weights for every
 * algorithm) plus the removal.
 * @throws {UsageError} naming the first bad flag.
 */
export function parseCompare(o: CompareFlags, input: ScenarioInput, typedAlgos = false): ComparePlan {
  if (o.algo !== undefined && typedAlgos) throw new UsageError('Expected `--algo` or `--algos`, got both');
  const names = (o.algo ?? o.algos).split(',').map((a) => a.trim());
  const engines = o.engines.split(',').map((e) => e.trim());
  for (const e of engines) if (!isEngineName(e)) throw new UsageError(`Expected every \`--engines\` entry to be one of ${ENGINES.join(', ')}, got ${JSON.stringify(e)}`);
  const engineDup = engines.find((e, i) => engines.indexOf(e) !== i);
  if (engineDup) throw new UsageError(`Expected every \`--engines\` entry once, got ${engineDup} twice`);
  const algos: AlgorithmName[] = names.map((a) => {
    if (!isAlgorithmName(a)) throw new UsageError(`Expected every \`--algos\` entry to be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(a)}`);
    return a;
  });
  const dup = algos.find((a, i) => algos.indexOf(a) !== i);
  if (dup) throw new UsageError(`Expected every \`--algos\` entry once, got ${dup} twice`);
  if (input.weights !== undefined && !algos.some(usesWeights)) {
    throw new UsageError(`Expected \`--weights\` only when an algorithm in --algos uses weights, got ${algos.join(',')}`);
  }
  if (input['hash-key'] !== undefined && !algos.some(usesHashKey)) {
    throw new UsageError(`Expected \`--hash-key\` only when an algorithm in --algos hashes a key (consistent-hash, maglev), got ${algos.join(',')}`);
  }
  if ((input.timeline ?? []).some((e) => typeof e === 'string' && /^\S+\s+algo\b/.test(e.trim()))) {
    throw new UsageError('Expected `--event` without "algo" in compare: each column is one algorithm (use lblab start to switch while running)');
  }
  // An engine's refusal names the flag that chose it.
  const name = (path: string): string => (path === 'engine' ? '--engines' : flagOf(path));
  const runs = algos.flatMap((algo) =>
    engines.map((engine): RunScenario => {
      // Same weights for every algorithm: the n..1 default of weighted would make the runs unlike.
      const scenario = resolveScenario(
        {
          ...input,
          algo,
          engine,
          weights: usesWeights(algo) ? input.weights : undefined,
          'hash-key': usesHashKey(algo) ? input['hash-key'] : undefined,
          load: { ...input.load, duration: o.duration },
        },
        { name, defaultWeights: 'equal' },
      );
      return { ...scenario, durationMs: scenario.durationMs! };
    }),
  );
  // A missing program is said before the first run starts.
  for (const e of engines) if (isEngineName(e) && e !== 'lblab') findEngineProgram(e, '--engines');
  const first = runs[0]!;
  const durationMs = first.durationMs;
  const backendNames = first.backends.map((b) => b.name);
  let remove: string | undefined;
  if (o.remove !== undefined) {
    if (!backendNames.includes(o.remove)) {
      throw new UsageError(`Expected \`--remove\` to be one of ${backendNames.join(', ')}, got ${JSON.stringify(o.remove)}`);
    }
    if (backendNames.length < 2) throw new UsageError('Expected `--remove` with at least 2 `--backends`, got 1');
    if ((first.clients ?? 1) < 2) {
      throw new UsageError('Expected `--remove` with `--clients` of 2 or more: the keys that move are counted per virtual client');
    }
    if (durationMs < 2000) {
      throw new UsageError(`Expected \`--duration\` of at least 2s with \`--remove\` (half before, half after the removal), got ${JSON.stringify(o.duration)}`);
    }
    remove = o.remove;
    for (const r of runs) r.events.push({ atMs: Math.round(durationMs / 2), action: 'remove', target: o.remove });
  }
  return { algos, runs, durationMs, remove };
}
