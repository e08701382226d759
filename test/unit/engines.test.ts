import { describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/options.js';
import { parseAccessLine } from '../../src/engines/engine-config.js';
import { ENGINE_ALGORITHMS, checkEngineSupport } from '../../src/engines/support.js';
import { parseShowStat } from '../../src/engines/haproxy-stats.js';
import { labOnEngine } from '../../src/lab/lab-engine.js';
import { parseLab } from '../../src/lab/load-lab.js';
import { ALGORITHMS } from '../../src/balancer/algorithms/index.js';
import { resolveUpstream } from '../../src/scenario/resolve.js';
import type { ScenarioInput } from '../../src/scenario/input.js';

/** What the engines can do, how their stats and logs are read, and labs on an engine: the parts of issue 12 that need no process. */

const upstream = (input: ScenarioInput) => resolveUpstream(input, ['b1', 'b2', 'b3'], { name: flagOf, defaultWeights: 'equal' });

describe('checkEngineSupport', () => {
  it('every algorithm is either written by an engine or refused with a closest algorithm that the engine has', () => {
    for (const engine of ['haproxy', 'nginx'] as const) {
      for (const algo of ALGORITHMS) {
        const s = ENGINE_ALGORITHMS[engine][algo];
        if (s.directive === null) expect(ENGINE_ALGORITHMS[engine][s.closest].directive, `${engine} ${algo} → ${s.closest}`).not.toBeNull();
      }
    }
  });

  it('names the flag, the engine and the closest setting; lblab takes everything', () => {
    const u = upstream({ algo: 'peak-ewma' });
    expect(() => checkEngineSupport('lblab', u, flagOf)).not.toThrow();
    expect(() => checkEngineSupport('haproxy', u, flagOf)).toThrow(/^Expected `--algo` to be an algorithm haproxy has with `--engine haproxy`, got peak-ewma: .*\(closest: p2c\)$/);
    expect(() => checkEngineSupport('nginx', upstream({ algo: 'weighted', balancer: { 'slow-start': '5s' } }), flagOf)).toThrow(/`--slow-start`.*nginx.*NGINX Plus/);
    expect(() => checkEngineSupport('haproxy', upstream({ algo: 'weighted', balancer: { 'slow-start': '5s' } }), flagOf)).not.toThrow();
    expect(() => checkEngineSupport('haproxy', upstream({ balancer: { 'retry-on': 'error,429' } }), flagOf)).toThrow(/`--retry-on`.*got 429/);
    expect(() => checkEngineSupport('nginx', upstream({ algo: 'ip-hash', balancer: { backup: ['b3'] } }), flagOf)).toThrow(/`--backup`.*refuses backup servers with ip-hash/);
    expect(() => checkEngineSupport('nginx', upstream({ algo: 'ip-hash', balancer: { mode: 'tcp' } }), flagOf)).toThrow(/`--algo`.*stream module has no ip_hash/);
  });

  it('refuses a route pool whose own algorithm the engine lacks, and live changes nginx cannot make', () => {
    expect(() => checkEngineSupport('nginx', upstream({ balancer: { route: ['/api=b1,b2:maglev'] } }), flagOf)).toThrow(/`--route`.*maglev/);
    expect(() => checkEngineSupport('nginx', upstream({}), flagOf, [{ atMs: 1000, action: 'drain', target: 'b2' }])).toThrow(/`--event`.*1000ms drain.*--engine haproxy/);
    expect(() => checkEngineSupport('haproxy', upstream({}), flagOf, [{ atMs: 1000, action: 'drain', target: 'b2' }])).not.toThrow();
    expect(() => checkEngineSupport('haproxy', upstream({}), flagOf, [{ atMs: 1000, action: 'algo', algo: 'p2c' }])).toThrow(/fixed in haproxy's config/);
  });
});

describe('what the engines tell', () => {
  it("parseShowStat reads HAProxy's server rows and leaves out FRONTEND and BACKEND", () => {
    const header =
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health';
    const csv = [
      header,
      'lblab,FRONTEND,,,0,0,4096,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,',
      'lblab,b1,0,0,3,0,,0,0,0,,0,,0,0,1,2,UP,5,1,0,1,1,1,2,,1,3,1,,120,,2,0,,0,L7OK,200,6,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,3,4',
      'lblab,b3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,4,1,2,2,,1,3,3,,0,,2,0,,0,* L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,1',
      'lblab,BACKEND,0,0,0,0,410,0,0,0,0,0,,0,0,0,0,UP,6,2,0,,1,1,1,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,',
    ].join('\n');
    const rows = parseShowStat(csv);
    expect(rows.map((r) => r.server)).toEqual(['b1', 'b3']);
    expect(rows[0]).toMatchObject({ backend: 'lblab', status: 'UP', scur: 3, weight: 5, checkStatus: 'L7OK', checkCode: '200', lbtot: 120, wretr: 1, wredis: 2, checkHealth: 4, checkRise: 2, checkFall: 3 });
    expect(rows[1]).toMatchObject({ status: 'DOWN 1/2', checkStatus: 'L4CON', chkfail: 4, checkDesc: 'Layer4 connection problem', checkHealth: 1 });
  });

  it('parseAccessLine reads the HAProxy and nginx lines lblab asks for, in µs', () => {
    expect(parseAccessLine('lblab b2 200 12')).toEqual({ server: 'b2', status: 200, latencyUs: 12_000 });
    expect(parseAccessLine('lblab <NOSRV> 429 0')).toEqual({ server: undefined, status: 429, latencyUs: 0 });
    expect(parseAccessLine('lblab 127.0.0.1:8001 200 0.012')).toEqual({ server: '127.0.0.1:8001', status: 200, latencyUs: 12_000 });
    // A retried request: the last address tried is the one that answered.
    expect(parseAccessLine('lblab 127.0.0.1:8001, 127.0.0.1:8002 200 0.004')).toEqual({ server: '127.0.0.1:8002', status: 200, latencyUs: 4_000 });
    expect(parseAccessLine('lblab - 404 0.000')?.server).toBeUndefined();
    expect(parseAccessLine('[WARNING] (123) : Server lblab/b1 is DOWN')).toBeUndefined();
  });
});

describe('labOnEngine', () => {
  const lab = (extra: string) =>
    parseLab(
      `title: t\nteaches: t\nbackends: 3\nalgo: weighted\nweights: [5, 1, 1]\nload: { duration: 2s }\n${extra}expect:\n  - share: { backend: b1, is: 0.714, within: 0.05 }\n  - share: { backend: b1, is: 0.7, within: 0.1 }\n    engines: [nginx]\n`,
      'mine.yaml',
    );

  it('runs every run on the engine and keeps the expectations that hold there', () => {
    const l = lab('');
    expect(l.engines).toEqual(['lblab', 'haproxy', 'nginx']);
    // The nginx-only expectation is not judged on lblab's own balancer either.
    expect(labOnEngine(l, 'lblab').expectations).toHaveLength(1);
    const onHaproxy = labOnEngine(l, 'haproxy');
    expect(onHaproxy.runs.every((r) => r.config.engine === 'haproxy')).toBe(true);
    expect(onHaproxy.expectations).toHaveLength(1);
    expect(labOnEngine(l, 'nginx').expectations).toHaveLength(2);
  });

  it('refuses an engine the lab is not valid for, or one that cannot run it, naming the lab field', () => {
    expect(() => labOnEngine(lab('engines: [lblab, haproxy]\n'), 'nginx')).toThrow(/^Expected `--engine` to be one lab mine runs on \(lblab, haproxy\), got nginx/);
    expect(() => labOnEngine(lab('balancer: { sticky: cookie }\n'), 'nginx')).toThrow(/^Expected `balancer.sticky` to be a setting nginx has with `lblab lab run mine --engine nginx`/);
    expect(() => parseLab('title: t\nteaches: t\nbackends: 2\nload: { duration: 2s }\nexpect:\n  - share: { backend: b1, is: 0.5, within: 0.1 }\n    engines: [envoy]\n', 'x.yaml')).toThrow(/expect\[0\]\.engines/);
  });
});
