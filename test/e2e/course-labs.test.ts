import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateExpectations, type LabRunResult } from '../../src/lab/evaluate.js';
import { labOnEngine } from '../../src/lab/lab-engine.js';
import { parseLab } from '../../src/lab/load-lab.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import type { Comparison } from '../../src/report/comparison.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

const tags = tagsAfterEach();

/**
 * The labs of the course's later lessons, each with one expectation turned
 * wrong: the lab file's text with `wrong[0]` replaced by `wrong[1]`. The lab
 * runs for real, headless, and must pass; the same runs' records are then
 * judged against the wrong expectation, which must fail, so no expectation
 * of a lab is one that cannot fail.
 */
const LABS: ReadonlyArray<{ name: string; wrong: [string, string] }> = [
  { name: 'l7-routing', wrong: ['{ backend: b4, is: 0.10, within: 0.02 }', '{ backend: b4, is: 0.25, within: 0.02 }'] },
  { name: 'rate-limiting', wrong: ['{ except: 1, of: rate-limited, max: 0 }', '{ except: 1, of: rate-limited, min: 1 }'] },
  { name: 'tls-termination', wrong: ['{ run: new-connection, min: 0.95 }', '{ run: new-connection, max: 0.5 }'] },
  { name: 'connections', wrong: ['{ backend: b2, of: closed, min: 2 }', '{ backend: b2, of: closed, max: 0 }'] },
  { name: 'slow-start', wrong: ['{ run: slow-start, backend: b2, is: 0.08, within: 0.08,', '{ run: slow-start, backend: b2, is: 0.333, within: 0.06,'] },
  { name: 'backup-and-panic', wrong: ['{ run: backup, backend: b4, max: 0, after: down b2', '{ run: backup, backend: b4, min: 1, after: down b2'] },
  { name: 'http2-vs-l4', wrong: ['largest-share: { run: l4, min: 0.99 }', 'largest-share: { run: l4, max: 0.5 }'] },
  { name: 'gslb', wrong: ['client-region: { region: eu, of: remote-share, max: 0 }', 'client-region: { region: eu, of: remote-share, min: 0.5 }'] },
  { name: 'websockets', wrong: ['{ run: least-conn, of: open-share, backend: b2, min: 0.3 }', '{ run: round-robin, of: open-share, backend: b2, min: 0.3 }'] },
  { name: 'where-sessions-live', wrong: ['{ run: shared, of: logged-out, max: 0, after: kill b2 }', '{ run: shared, of: logged-out, min: 1, after: kill b2 }'] },
  { name: 'balancer-failover', wrong: ['{ run: dns-rr, of: retried-share, min: 0.3, max: 0.7 }', '{ run: active-passive, of: retried-share, min: 0.3, max: 0.7 }'] },
  { name: 'power-of-two-choices', wrong: ['{ metric: share, backend: b6, run: p2c, below: random, by: 2 }', '{ metric: share, backend: b6, run: p2c, above: random }'] },
];

/** The runs of a lab's `--json` output as the evaluator takes them: one record, or a comparison's named results. */
function runsOf(stdout: string): LabRunResult[] {
  const out = JSON.parse(stdout) as RunRecord | Comparison;
  if ('results' in out) return out.results.map((r) => ({ name: r.name!, record: r.record }));
  return [{ name: out.config.algo ?? '', record: out }];
}

describe('the course labs (real processes, headless)', () => {
  it.each(LABS)('lab run $name passes, and fails on a deliberately wrong expectation', { timeout: 120_000 }, async ({ name, wrong }) => {
    const r = await runCliToEnd(['lab', 'run', name, '--headless', '--json'], 110_000);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const runs = runsOf(r.stdout);
    const verdict = runs[0]!.record.lab;
    expect(verdict?.passed, JSON.stringify(verdict?.expectations, null, 1)).toBe(true);

    const file = join('labs', `${name}.yaml`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(wrong[0]);
    // As the lab ran: on lblab, with the expectations that hold there.
    const lab = labOnEngine(parseLab(text.replace(wrong[0], wrong[1]), file), 'lblab');
    // A single-run lab's run is named after its algorithm in the JSON; the lab names it so too.
    const named = runs.length === 1 ? [{ ...runs[0]!, name: lab.runs[0]!.name }] : runs;
    const judged = evaluateExpectations(lab.expectations, named);
    expect(judged.filter((v) => !v.pass).map((v) => v.text)).toHaveLength(1);
  });
});
