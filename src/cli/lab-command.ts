import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { ENGINES, isEngineName } from '../engines/engines.js';
import { UsageError } from '../errors.js';
import { checkOutputPaths, terminalWidth } from './output.js';

/** `lblab lab list | explain NAME | run NAME|FILE`: the scripted exercises of `labs/`. */
export function registerLabCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('list, explain and run the scripted exercises in labs/ (each ends with a verdict)')
    .addHelpText(
      'after',
      `
Examples:
  lblab lab list
  lblab lab explain failover
  lblab lab run failover
  lblab lab run round-robin --headless --json --out run.json
  lblab lab run ./my-lab.yaml

A lab runs a scenario (backends and their profiles, algorithm, load, a
timeline of kills and faults), then prints the report and a verdict line per
expectation: ✓ or ✗, expected against measured. Exit status: 0 every
expectation held, 3 one failed, 2 a bad lab file or name.`,
    );

  lab
    .command('list')
    .description('the labs in course order: name, title, duration')
    .addHelpText('after', '\nExamples:\n  lblab lab list')
    .action(async () => {
      const { loadAllLabs } = await import('../lab/lab-directory.js');
      const { renderLabList } = await import('../lab/lab-text.js');
      process.stdout.write(renderLabList(await loadAllLabs(), terminalWidth()));
    });

  lab
    .command('explain')
    .description('what a lab teaches, what it runs and what it expects')
    .argument('<lab>', 'a lab name (see lblab lab list) or a lab file')
    .addHelpText('after', '\nExamples:\n  lblab lab explain failover\n  lblab lab explain ./my-lab.yaml')
    .action(async (name: string) => {
      const { findLab } = await import('../lab/lab-directory.js');
      const { renderLabExplain } = await import('../lab/lab-text.js');
      process.stdout.write(renderLabExplain(await findLab(name), terminalWidth()));
    });

  lab
    .command('run')
    .description('run a lab: dashboard (or headless progress), then the report and the verdict; exit 3 if an expectation failed')
    .argument('[lab]', 'a lab name (see lblab lab list) or a lab file (.yaml, .yml, .json); with --all, a folder of lab files (default: the course)')
    .option('--all', 'every lab in course order, then one summary table (lab, verdict, wall time); exit 3 if any failed')
    .option('--headless', 'no dashboard: a progress line per second on stderr, the report at the end')
    .option('--json', 'print the run record (with its verdict in "lab") as JSON instead of the report')
    .option('--out <file>', 'also write the run record (a lab with several runs: the comparison) to FILE')
    .option('--html <file>', 'also write the report as one self-contained HTML page to FILE (a lab with several runs: the comparison and every run\'s report)')
    .option('--engine <name>', `what balances: ${ENGINES.join(', ')}; the verdict on a real HAProxy or nginx (see lblab export)`, 'lblab')
    .addHelpText(
      'after',
      `
Examples:
  lblab lab run failover
  lblab lab run weighted --headless
  lblab lab run least-connections --json --out lc.json
  lblab lab run ./my-lab.yaml
  lblab lab run failover --engine haproxy
  lblab lab run --all --headless
  lblab lab run --all ./my-labs/ --headless

A lab with several runs (least-connections, hashing, health-checks) runs them
one after the other on fresh backends, then prints each report, a comparison
table and the verdict. Ctrl-C or q stops it as in lblab start: everything is
torn down, and there is no verdict.`,
    )
    .action(async (name: string | undefined, o: { headless?: boolean; json?: boolean; out?: string; html?: string; engine: string; all?: boolean }) => {
      if (!isEngineName(o.engine)) throw new UsageError(`Expected \`--engine\` to be one of ${ENGINES.join(', ')}, got ${JSON.stringify(o.engine)}`);
      const { findLab, loadAllLabs } = await import('../lab/lab-directory.js');
      const { labOnEngine } = await import('../lab/lab-engine.js');
      if (o.all) {
        if (o.json || o.out !== undefined || o.html !== undefined) throw new UsageError('Expected no `--json`, `--out` or `--html` with `--all`: each lab prints its report, then the summary table');
        if (name !== undefined && !isFolder(name)) throw new UsageError(`Expected a folder of lab files with \`--all\` (or none: the course), got ${JSON.stringify(name)}`);
        const engine = o.engine;
        const labs = (await loadAllLabs(name)).map((l) => (l.engines.includes(engine) ? labOnEngine(l, engine) : { notValid: l, why: `not valid for --engine ${engine} (runs on ${l.engines.join(', ')})` }));
        const { runAllLabs } = await import('./lab-run.js');
        await runAllLabs(labs, o);
        return;
      }
      if (name === undefined) throw new UsageError('Expected a lab name (see lblab lab list) or `--all`, got neither');
      checkOutputPaths(o.out, o.html);
      const found = labOnEngine(await findLab(name), o.engine);
      const { runLab } = await import('./lab-run.js');
      await runLab(found, o);
    });
}

/** Whether `path` is a folder (for `lab run --all FOLDER`). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
