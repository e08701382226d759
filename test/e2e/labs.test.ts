import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

const tags = tagsAfterEach();

const dir = mkdtempSync(join(tmpdir(), 'lblab-labs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `lblab lab …` to its end and remembers its tag, so no process it started may outlive the test. */
async function lab(args: string[], timeoutMs = 60_000) {
  const r = await runCliToEnd(['lab', ...args], timeoutMs);
  tags.push(r.tag);
  return r;
}

describe('lblab lab (real processes)', () => {
  it.each(['round-robin', 'failover', 'weighted', 'metrics-report'])('lab run %s passes its own expectations', async (name) => {
    const r = await lab(['run', name, '--headless']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Lab ${name} · .* · PASSED (\\d+)/\\1$`, 'm'));
    expect(r.stdout).not.toContain('✗');
    expect(r.stderr).toMatch(new RegExp(`^lab ${name}`, 'm'));
  });

  it('--json and --out give the run record with its verdict, and lblab report prints it again, verdict included', async () => {
    const out = join(dir, 'run.json');
    const r = await lab(['run', 'metrics-report', '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as RunRecord;
    expect(rec.lab).toMatchObject({ name: 'metrics-report', passed: true });
    expect(rec.lab!.expectations.length).toBeGreaterThan(3);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(rec);
    const again = await runCliToEnd(['report', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Lab metrics-report · Metrics report .* · PASSED \d+\/\d+$/m);
    expect(again.stdout).toMatch(/✓ {2}requests served by b3/);
  });

  it('lab run timeouts-and-retries passes within 60 s, and fails when its shutdown-sessions run lacks --on-marked-down', async () => {
    const started = performance.now();
    const r = await lab(['run', 'timeouts-and-retries', '--headless'], 90_000);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(performance.now() - started).toBeLessThan(60_000);
    // The lab header may wrap at 100 columns: read it as one line.
    expect(r.stdout.replace(/\n {2}(?=PASSED|FAILED)/g, ' ')).toMatch(/^Lab timeouts-and-retries · .* · PASSED (\d+)\/\1$/m);
    // The shutdown-sessions run with the setting that is the lesson left out (the lab's scenario, that run's expectation, one run only): its held requests wait, and the verdict must say so.
    const text = readFileSync(new URL('../../labs/timeouts-and-retries.yaml', import.meta.url), 'utf8');
    expect(text).toContain('  - name: shutdown-sessions\n    balancer: { on-marked-down: shutdown-sessions }\n');
    expect(text).toContain('  - requests: { run: shutdown-sessions, backend: b1, min: 20, after: 3s }\n');
    const without = `${text.slice(0, text.indexOf('runs:\n'))}balancer: { retries: 1, response-timeout: 60s }\nexpect:\n  - requests: { backend: b1, min: 20, after: 3s }\n`;
    const file = join(dir, 'timeouts-wrong.yaml');
    writeFileSync(file, without);
    const w = await lab(['run', file, '--headless'], 90_000);
    expect(w.code, `${w.stdout}\n${w.stderr}`).toBe(3);
    expect(w.stdout).toMatch(/^ {2}✗ {2}requests served by b1 from 3\.0s\s+≥ 20\s+\d+$/m);
  }, 180_000);

  it('a lab whose expectation cannot hold exits 3, and its output names that expectation', async () => {
    const file = join(dir, 'wrong.yaml');
    writeFileSync(
      file,
      `title: A wrong expectation
teaches: Round robin gives two equal backends half each; this lab claims b1 gets 90% and must fail.
backends: 2
load: { concurrency: 2, duration: 1s }
expect:
  - error-rate: { max: 0 }
  - share: { backend: b1, is: 0.9, within: 0.01 }
`,
    );
    const r = await lab(['run', file]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^Lab wrong · A wrong expectation · FAILED 1 of 2$/m);
    expect(r.stdout).toMatch(/^ {2}✗ {2}share of b1\s+90\.0% ± 1\.0%\s+\d+\.\d%$/m);
    expect(r.stdout).toMatch(/^ {2}✓ {2}error rate/m);
    expect(r.stderr).toMatch(/^lblab: lab wrong: 1 of 2 expectations failed \(share of b1\)$/m);
  });

  it('lab list shows every lab in course order; lab explain tells what one teaches and expects', async () => {
    const list = await lab(['list']);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.split('\n').filter((l) => /^\s*\d+\s+[a-z]/.test(l));
    const names = rows.map((l) => l.trim().split(/\s+/)[1]);
    expect(names.slice(0, 3)).toEqual(['backends', 'round-robin', 'failover']);
    expect(names).toEqual(expect.arrayContaining(['weighted', 'metrics-report', 'least-connections', 'hashing', 'troubleshooting']));
    expect(rows.find((l) => l.includes(' failover '))).toMatch(/Failover .*\s9\.0s\s+1$/);
    const explain = await lab(['explain', 'failover']);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/^failover: Failover/);
    expect(explain.stdout).toContain('SIGKILL');
    expect(explain.stdout).toMatch(/timeline: 2\.0s kill b2, 5\.0s restart b2/);
    expect(explain.stdout).toMatch(/b2 DOWN after its kill: DOWN within 4\.0s/);
  });

  it('a bad lab file or an unknown lab name exits 2 with one line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'title: Bad\nteaches: t\nbackends: 3\nload: { duration: 2s }\nexpect:\n  - error-rate: { max: 0 }\n  - share: { backend: b1, is: 0.5, within: 3 }\n');
    const bad = await lab(['run', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`lblab: ${file}: expect[1].share.within: expected a number ≤ 1, got 3\n`);
    expect(bad.stdout).toBe('');
    const unknown = await lab(['run', 'no-such-lab']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lblab: Expected `<lab>` to be a lab name, one of backends, .*round-robin.*, got "no-such-lab"\n$/);
  });
});

describe('the proxy labs: what the backends saw (real processes)', () => {
  it.each(['forward-proxy', 'reverse-proxy'])('lab run %s passes its own expectations within 60 s', async (name) => {
    const r = await lab(['run', name, '--headless']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Lab ${name} · .* · PASSED (\\d+)/\\1$`, 'm'));
  });

  it('a forward-proxy lab expecting X-Forwarded-For through the forward proxy fails, and its record holds each backend\'s view', async () => {
    const file = join(dir, 'wrong-forward.yaml');
    writeFileSync(
      file,
      `title: A forward proxy that would tell who the client was
teaches: Through lblab's forward proxy the backends see the proxy, and no X-Forwarded-For; this lab claims they see it and must fail.
backends: 2
load: { concurrency: 2, clients: 4, duration: 2s, proxy: forward }
expect:
  - seen-by-backends: { peers: { max: 1 } }
  - seen-by-backends: { header: x-forwarded-for, present: true }
`,
    );
    const out = join(dir, 'wrong-forward.json');
    const r = await lab(['run', file, '--out', out]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^ {2}✓ {2}peer addresses the backends saw\s+≤ 1\s+1 \(127\.0\.0\.1\)$/m);
    expect(r.stdout).toMatch(/^ {2}✗ {2}requests reaching the backends with x-forwarded-for\s+every one\s+0 of \d+ requests$/m);
    const rec = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
    expect(rec.config.clientsVia).toBe('forward-proxy');
    // Each backend's view is in the record; those that were reached saw only the proxy, and Via on every request.
    expect(rec.backends.reduce((sum, b) => sum + b.seen!.requests, 0)).toBe(rec.totals.requests);
    for (const b of rec.backends.filter((x) => x.seen!.requests > 0)) {
      expect(Object.keys(b.seen!.peers), b.name).toEqual(['127.0.0.1']);
      expect(b.seen!.headers.via, b.name).toBe(b.seen!.requests);
    }
  });
});
