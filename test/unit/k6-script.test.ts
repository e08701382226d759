import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { k6Script } from '../../src/engines/k6-script.js';
import { UsageError } from '../../src/errors.js';
import { loadLabFile, parseLab } from '../../src/lab/load-lab.js';
import type { ScenarioInput } from '../../src/scenario/input.js';
import { resolveScenario } from '../../src/scenario/resolve.js';

const TARGET = 'http://127.0.0.1:8080';
const dir = mkdtempSync(join(tmpdir(), 'lblab-k6-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let scripts = 0;
/** Node parses `script` as an ES module (`--check` resolves no import, so `k6/http` needs no k6): throws on a syntax error. */
function checkSyntax(script: string): void {
  const file = join(dir, `script-${scripts++}.mjs`);
  writeFileSync(file, script);
  execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
}

/** The k6 script of a scenario written as a lab file's scenario part, checked to parse. */
function script(input: ScenarioInput, extra: { target?: string; title?: string } = {}): string {
  const out = k6Script({ scenario: resolveScenario(input), target: extra.target ?? TARGET, ...(extra.title !== undefined ? { title: extra.title } : {}) });
  checkSyntax(out);
  return out;
}

/** The line of `text` that holds `fragment`. */
function lineWith(text: string, fragment: string): string {
  const line = text.split('\n').find((l) => l.includes(fragment));
  if (line === undefined) throw new Error(`no line with ${fragment} in:\n${text}`);
  return line;
}

describe('k6Script: the load model as a k6 executor', () => {
  it('closed model: constant-vus with the concurrency and the duration, each line naming its flag', () => {
    const out = script({ load: { concurrency: 64, duration: '30s' } });
    expect(lineWith(out, 'executor:')).toContain("executor: 'constant-vus',");
    expect(lineWith(out, 'vus:')).toMatch(/vus: 64,\s+\/\/ --concurrency 64$/);
    expect(lineWith(out, 'duration:')).toMatch(/duration: "30s",\s+\/\/ --duration 30s$/);
    expect(lineWith(out, 'gracefulStop:')).toContain('"2s"');
    expect(out).not.toContain('arrival-rate');
  });

  it("closed model without --duration: lblab's headless default, 10s", () => {
    const out = script({ load: {} });
    expect(lineWith(out, 'vus:')).toMatch(/vus: 16,\s+\/\/ --concurrency 16$/);
    expect(lineWith(out, 'duration:')).toMatch(/duration: "10s",\s+\/\/ no --duration: lblab's headless default, 10s$/);
  });

  it('--duration 0 (until quit): as long as lblab allows, stopped with Ctrl-C', () => {
    const out = k6Script({ scenario: { ...resolveScenario({}), durationMs: 0 }, target: TARGET });
    checkSyntax(out);
    expect(lineWith(out, 'duration:')).toMatch(/duration: "576h",\s+\/\/ --duration 0ms: until quit, as lblab; stop k6 with Ctrl-C$/);
  });

  it('a duration under a second runs for 1s, the least k6 takes, and says so', () => {
    const out = script({ load: { duration: '500ms' } });
    expect(lineWith(out, 'duration:')).toMatch(/duration: "1s",\s+\/\/ --duration 500ms \(k6 runs a scenario for 1s at least\)$/);
  });

  it('open model: constant-arrival-rate per second, maxVUs from --max-in-flight', () => {
    const out = script({ load: { rate: 500, 'max-in-flight': 200, duration: '10s' } });
    expect(lineWith(out, 'executor:')).toContain("executor: 'constant-arrival-rate',");
    expect(lineWith(out, 'rate:')).toMatch(/rate: 500,\s+\/\/ --rate 500$/);
    expect(lineWith(out, 'timeUnit:')).toMatch(/timeUnit: "1s",\s+\/\/ --rate 500 \(per second\)$/);
    expect(lineWith(out, 'duration:')).toMatch(/duration: "10s",\s+\/\/ --duration 10s$/);
    expect(lineWith(out, 'preAllocatedVUs:')).toContain('preAllocatedVUs: 50,');
    expect(lineWith(out, 'maxVUs:')).toMatch(/maxVUs: 200,\s+\/\/ --max-in-flight 200/);
    expect(out).toContain('coordinated omission');
    expect(out).not.toContain('vus: 16');
  });

  it('open model: the default in-flight cap, and a fractional rate as whole iterations per timeUnit', () => {
    const out = script({ load: { rate: 0.5 } });
    expect(lineWith(out, 'rate:')).toMatch(/rate: 1,\s+\/\/ --rate 0.5$/);
    expect(lineWith(out, 'timeUnit:')).toContain('timeUnit: "2s",');
    expect(lineWith(out, 'preAllocatedVUs:')).toContain('preAllocatedVUs: 1,');
    expect(lineWith(out, 'maxVUs:')).toMatch(/maxVUs: 1000,\s+\/\/ --max-in-flight 1000/);
    expect(lineWith(script({ load: { rate: 2.5 } }), 'rate:')).toContain('rate: 5,');
  });

  it('closed model with --requests: shared-iterations, maxDuration only from --duration', () => {
    const timed = script({ load: { concurrency: 8, requests: 1000, duration: '20s' } });
    expect(lineWith(timed, 'executor:')).toContain("executor: 'shared-iterations',");
    expect(lineWith(timed, 'vus:')).toMatch(/vus: 8,\s+\/\/ --concurrency 8$/);
    expect(lineWith(timed, 'iterations:')).toMatch(/iterations: 1000,\s+\/\/ --requests 1000$/);
    expect(lineWith(timed, 'maxDuration:')).toMatch(/maxDuration: "20s",\s+\/\/ --duration 20s$/);
    // No --duration: lblab has no time limit, where k6 would stop after 10 minutes.
    const counted = script({ load: { concurrency: 8, requests: 1000 } });
    expect(lineWith(counted, 'maxDuration:')).toMatch(/maxDuration: "576h",\s+\/\/ no --duration: no time limit but the count/);
    // k6 refuses fewer iterations than VUs.
    expect(lineWith(script({ load: { concurrency: 8, requests: 3 } }), 'vus:')).toMatch(/vus: 3,\s+\/\/ --concurrency 8 \(k6 wants no more VUs than iterations\)$/);
  });

  it('open model with --requests: runs for requests ÷ rate and stops at the count', () => {
    const out = script({ load: { rate: 100, requests: 250 } });
    expect(lineWith(out, 'duration:')).toMatch(/duration: "2500ms",\s+\/\/ --requests 250 at --rate 100/);
    expect(lineWith(out, 'const REQUESTS')).toMatch(/const REQUESTS = 250;\s+\/\/ --requests 250$/);
    expect(out).toContain('if (iteration >= REQUESTS) return;');
    expect(out).toContain("import exec from 'k6/execution';");
    // A --duration shorter than the count's time ends it first.
    expect(lineWith(script({ load: { rate: 100, requests: 5000, duration: '10s' } }), 'duration:')).toMatch(/duration: "10s",\s+\/\/ --duration 10s, before --requests 5000/);
  });
});

describe('k6Script: what each request sends', () => {
  it('headers: {client} and {seq} from exec.scenario.iterationInTest, values as string literals, a comment naming both', () => {
    const out = script({ load: { clients: 20, headers: ['x-user=u{client}', 'x-request-id={seq}', 'x-lab=k6'] } });
    expect(lineWith(out, 'const CLIENTS')).toMatch(/const CLIENTS = 20;\s+\/\/ --clients 20$/);
    expect(out).toContain('const iteration = exec.scenario.iterationInTest;');
    expect(out).toContain('const client = (iteration % CLIENTS) + 1;');
    expect(out).toContain('const seq = iteration + 1;');
    expect(lineWith(out, '"x-user"')).toMatch(/"x-user": "u" \+ client,\s+\/\/ --header x-user=u\{client\}$/);
    expect(lineWith(out, '"x-request-id"')).toMatch(/"x-request-id": String\(seq\),\s+\/\/ --header x-request-id=\{seq\}$/);
    expect(lineWith(out, '"x-lab"')).toMatch(/"x-lab": "k6",\s+\/\/ --header x-lab=k6$/);
    expect(out).toMatch(/\{client\} is the virtual client/);
    expect(out).toMatch(/not from __VU or __ITER/);
    // --clients: a hint at --local-ips for the VUs' source addresses (the first 16, one per VU).
    expect(out).toContain('k6 run --local-ips');
    expect(out).toContain('127.0.0.2-127.0.0.17');
  });

  it('without placeholders nor several paths, no exec import and no per-request numbering', () => {
    const out = script({ load: { headers: { 'x-lab': 'plain' } } });
    expect(out).not.toContain('k6/execution');
    expect(out).not.toContain('const iteration');
    expect(out).toContain('const res = http.get(TARGET + PATH, {');
    expect(lineWith(out, 'const PATH ')).toMatch(/const PATH = "\/";\s+\/\/ no --path: the target URL's own$/);
  });

  it('strings that could break out of a literal or a comment are escaped', () => {
    const out = script({ load: { headers: ['x-quote=a"b\\c\'d', 'x-tab=a\tb'] } }, { title: 'lab "x"\n// injected();\u2028more' });
    expect(out).toContain('"x-quote": "a\\"b\\\\c\'d",');
    expect(out).toContain('"x-tab": "a\\tb",');
    expect(lineWith(out, '"x-tab"')).toContain('// --header x-tab=a\\x09b');
    expect(out.split('\n')[0]).toBe('// lab "x"\\x0a// injected();\\u2028more');
    expect(out).not.toMatch(/^\/\/ injected/m);
  });

  it('a header given twice is one field, the values joined', () => {
    const out = script({ load: { headers: ['x-tag=a', 'X-Tag=b', 'cookie=a=1', 'cookie=b=2'] } });
    expect(out).toContain('"x-tag": "a, b",');
    expect(out).toContain('"cookie": "a=1; b=2",');
  });

  it('paths: --path in turn, each client on its own turn through them', () => {
    const one = script({ load: { path: ['/api/users', '/static/logo.png?v=2'] } });
    expect(lineWith(one, 'const PATHS')).toMatch(/const PATHS = \["\/api\/users","\/static\/logo.png\?v=2"\];\s+\/\/ --path \/api\/users --path \/static\/logo.png\?v=2$/);
    expect(one).toContain('http.get(TARGET + PATHS[iteration % PATHS.length])');
    const many = script({ load: { clients: 4, path: ['/a', '/b'] } });
    expect(many).toContain('PATHS[Math.floor(iteration / CLIENTS) % PATHS.length]');
  });

  it("paths: with routes and no --path, each route's prefix then / for the default pool, as lblab start sends them", () => {
    const out = script({ backends: 3, balancer: { route: ['/api=b1,b2'] } });
    expect(lineWith(out, 'const PATHS')).toMatch(/const PATHS = \["\/api","\/"\];\s+\/\/ --route: each path route in turn/);
  });

  it("the target's origin; a target path is the default path", () => {
    const out = script({}, { target: 'http://127.0.0.1:9000/health?x=1' });
    expect(out).toContain('const TARGET = "http://127.0.0.1:9000";');
    expect(out).toContain('const PATH = "/health?x=1";');
  });

  it('cookies: a VU keeps its jar for the run; --no-cookies gives each request an empty one', () => {
    const on = script({ load: {} });
    expect(lineWith(on, 'noCookiesReset')).toMatch(/noCookiesReset: true,\s+\/\/ cookies on/);
    expect(on).not.toContain('new http.CookieJar()');
    const off = script({ load: { cookies: false } });
    expect(off).not.toContain('noCookiesReset');
    expect(lineWith(off, 'jar:')).toMatch(/jar: new http.CookieJar\(\),\s+\/\/ --no-cookies/);
  });

  it('TLS: insecureSkipTLSVerify, saying why', () => {
    const out = script({ balancer: { tls: true } }, { target: 'https://127.0.0.1:8443' });
    expect(lineWith(out, 'insecureSkipTLSVerify')).toMatch(/insecureSkipTLSVerify: true,\s+\/\/ --tls: lblab's certificate is self-signed/);
    expect(script({})).not.toContain('insecureSkipTLSVerify');
  });

  it('tallies x-lblab-backend per backend, with a listed share for each so the summary shows them', () => {
    const out = script({ backends: 3 });
    expect(lineWith(out, 'const BACKENDS')).toMatch(/const BACKENDS = \["b1","b2","b3"\];\s+\/\/ --backends 3$/);
    expect(out).toContain("const backend = res.headers['X-Lblab-Backend'];");
    expect(out).toContain('backendResponses.add(1, { backend });');
    expect(out).toContain('backendShare.add(name === backend, { backend: name })');
    for (const b of ['b1', 'b2', 'b3']) expect(out).toContain(`"lblab_backend_share{backend:${b}}": [`);
    expect(lineWith(out, '"rate>=0"')).toMatch(/always true: lists b\d's share in the summary/);
  });

  it('the header comment: how to run it, what it targets, who wrote it; events are named as not replayed', () => {
    const out = script({ load: { duration: '10s' }, timeline: ['5s kill b2'] }, { title: 'lblab export k6 --event "5s kill b2"' });
    const head = out.slice(0, out.indexOf('import '));
    expect(head).toContain('// lblab export k6 --event "5s kill b2"');
    expect(head).toContain('k6 run script.js');
    expect(head).toContain('generated by `lblab export k6`');
    expect(head).toContain('It targets http://127.0.0.1:8080');
    expect(head).toContain('--event 5s kill b2: not replayed');
  });

  it('refuses a target that is not http or https', () => {
    expect(() => k6Script({ scenario: resolveScenario({}), target: 'ftp://x' })).toThrow(UsageError);
    expect(() => k6Script({ scenario: resolveScenario({}), target: '127.0.0.1:8080' })).toThrow(/Expected the k6 target to be an http/);
  });
});

describe('k6Script: expectations as thresholds', () => {
  const lab = parseLab(
    `
title: Thresholds
teaches: what k6 can judge
backends: 3
load: { concurrency: 4, duration: 5s }
timeline: ["2s kill b2"]
expect:
  - latency: { of: p99, max: 250ms }
  - latency: { of: p999, max: 1s, min: 1ms }
  - latency: { of: p50, max: 40ms, backend: b1 }
  - error-rate: { max: 0.01 }
  - error-rate: { max: 0.5, after: kill b2 }
  - share: { backend: b1, is: 0.5, within: 0.1 }
  - requests: { backend: b3, min: 10 }
  - largest-share: { max: 0.6 }
  - detected: { backend: b2, within: 4s }
  - sequence: { cycle: [b1, b2, b3], count: 6 }
`,
    'thresholds.yaml',
  );
  const out = k6Script({ scenario: lab.runs[0]!.config, target: TARGET, expectations: lab.expectations, title: lab.title });

  it('parses', () => {
    checkSyntax(out);
  });

  it('latency bounds on http_req_duration, in ms, p999 as p(99.9)', () => {
    expect(out).toContain('"http_req_duration": [');
    expect(lineWith(out, '"p(99)<=250"')).toContain('// expect latency (of p99, max 250ms)');
    expect(out).toContain('"p(99.9)<=1000",');
    expect(out).toContain('"p(99.9)>=1",');
  });

  it("one backend's latency on its own Trend, fed from each response it served", () => {
    expect(out).toContain("import { Counter, Rate, Trend } from 'k6/metrics';");
    expect(out).toContain('"lblab_backend_duration{backend:b1}": [');
    expect(out).toContain('"p(50)<=40",');
    expect(out).toContain('backendDuration.add(res.timings.duration, { backend });');
  });

  it('the error rate on http_req_failed; a windowed one is listed as not expressible', () => {
    expect(out).toContain('"http_req_failed": [');
    expect(lineWith(out, '"rate<=0.01"')).toContain('// expect error-rate (max 0.01)');
    expect(out).not.toContain('"rate<=0.5"');
    expect(lineWith(out, '//   error-rate (max 0.5, after kill b2)')).toContain('k6 thresholds judge the whole run');
  });

  it("a share as its Rate's bounds, a request count on the Counter, the largest share as every backend's bound", () => {
    const share = out.slice(out.indexOf('"lblab_backend_share{backend:b1}": ['));
    expect(share).toMatch(/^"lblab_backend_share\{backend:b1\}": \[\n\s+"rate>=0.4",\s+\/\/ expect share \(backend b1, is 0.5, within 0.1\)\n\s+"rate<=0.6",/);
    expect(lineWith(out, '"count>=10"')).toContain('// expect requests (backend b3, min 10)');
    expect(out).toContain('"lblab_backend_responses{backend:b3}": [');
    for (const b of ['b2', 'b3']) expect(out).toContain(`"lblab_backend_share{backend:${b}}": [`);
    expect(out.match(/"rate<=0.6",\s+\/\/ expect largest-share \(max 0.6\) \(every backend's share\)/g)).toHaveLength(3);
    // Every share has a real bound, so none needs an always-true listing.
    expect(out).not.toContain('always true');
  });

  it('the others are listed in a comment with why', () => {
    expect(out).toContain("// Expectations k6 thresholds cannot express (lblab judges them from its run record):");
    expect(lineWith(out, '//   detected')).toContain("faults and their detection happen in lblab's backends and balancer");
    expect(lineWith(out, '//   sequence')).toContain('the order of the first responses');
  });
});

describe('k6Script: every lab', () => {
  const labs = readdirSync('labs').filter((f) => /\.(ya?ml|json)$/.test(f));

  it.each(labs)('%s: each run gives a script that parses', async (file) => {
    const lab = await loadLabFile(join('labs', file));
    for (const run of lab.runs) {
      const out = k6Script({ scenario: run.config, target: run.config.tls ? 'https://127.0.0.1:8443' : TARGET, expectations: lab.expectations.filter((e) => e.run === run.name), title: lab.title });
      checkSyntax(out);
      expect(out).toContain('export default function () {');
    }
  });
});
