import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pooledExpectedShares, routeMatches, Router } from '../../src/balancer/routes.js';
import { parseRouteSpec, resolveRouting } from '../../src/scenario/routes.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runRecordSchema } from '../../src/metrics/run-record-schema.js';
import { renderReport } from '../../src/report/render-report.js';
import { requestPaths } from '../../src/scenario/routes.js';

const names = ['b1', 'b2', 'b3', 'b4'];

describe('--route grammar', () => {
  it('reads path, host and header matches, the backends after the last = and an algorithm after :', () => {
    expect(parseRouteSpec('/api=b1,b2', names)).toMatchObject({ match: { pathPrefix: '/api' }, backends: ['b1', 'b2'] });
    expect(parseRouteSpec('/api=b1,b2:least-conn', names)).toMatchObject({ algo: 'least-conn' });
    expect(parseRouteSpec('host:Static.Local=b3', names)).toMatchObject({ match: { host: 'static.local' }, backends: ['b3'] });
    expect(parseRouteSpec('header:X-Canary=1=b4', names)).toMatchObject({ match: { header: { name: 'x-canary', value: '1' } }, backends: ['b4'] });
    expect(parseRouteSpec('header:x-canary=b4', names)).toMatchObject({ match: { header: { name: 'x-canary' } } });
    expect(parseRouteSpec('default=b1', names)).toMatchObject({ match: 'default' });
  });

  it('builds pools: routes to the same backends share one, the backends no route names form the default pool', () => {
    const routing = resolveRouting({ route: ['/api=b1,b2', '/static=b3', 'host:api.local=b2,b1:weighted'] }, names, [])!;
    expect(routing.pools).toEqual([
      { name: '/api', backends: ['b1', 'b2'], algo: 'weighted' },
      { name: '/static', backends: ['b3'] },
      { name: 'default', backends: ['b4'] },
    ]);
    expect(routing.routes.map((r) => r.pool)).toEqual(['/api', '/static', '/api']);
    expect(routing.defaultPool).toBe('default');
    // The course's example with every backend routed: no default pool, unmatched requests get 404.
    expect(resolveRouting({ route: ['/api=b1,b2', '/static=b3,b4'] }, names, [])!.defaultPool).toBeUndefined();
    // default= may name a routed pool.
    expect(resolveRouting({ route: ['/api=b1,b2', '/static=b3,b4', 'default=b2,b1'] }, names, [])!.defaultPool).toBe('/api');
  });
});

describe('route matching', () => {
  const headers = (h: Record<string, string>) => h;
  it('is a plain prefix for paths, the name without port for hosts, equality or presence for headers; all conditions hold', () => {
    expect(routeMatches({ pathPrefix: '/api' }, '/apis', {})).toBe(true);
    expect(routeMatches({ pathPrefix: '/api/' }, '/api', {})).toBe(false);
    expect(routeMatches({ host: 'static.local' }, '/', headers({ host: 'STATIC.local:8080' }))).toBe(true);
    expect(routeMatches({ host: '*.local' }, '/', headers({ host: 'a.local' }))).toBe(true);
    expect(routeMatches({ host: '*.local' }, '/', headers({ host: 'local' }))).toBe(false);
    expect(routeMatches({ header: { name: 'x-canary', value: '1' } }, '/', headers({ 'x-canary': '2' }))).toBe(false);
    expect(routeMatches({ header: { name: 'x-canary' } }, '/', headers({ 'x-canary': '' }))).toBe(true);
    expect(routeMatches({ pathPrefix: '/api', host: 'a' }, '/api', headers({ host: 'b' }))).toBe(false);
  });

  it('takes the first route that matches, else the fallback', () => {
    const r = new Router(
      [
        { match: { pathPrefix: '/api/v2' }, target: 'v2' },
        { match: { pathPrefix: '/api' }, target: 'api' },
      ],
      'rest',
    );
    expect([r.route('/api/v2/x', {}), r.route('/api/v1', {}), r.route('/', {})]).toEqual(['v2', 'api', 'rest']);
    expect(new Router([{ match: { pathPrefix: '/a' }, target: 1 }], undefined).route('/b', {})).toBeUndefined();
  });
});

describe('expected shares with pools', () => {
  it('is each pool algorithm share times the pool part of the traffic; one pool gives the plain shares', () => {
    const weights: Record<string, number> = { b1: 3, b2: 1, b3: 1, b4: 1 };
    const shares = pooledExpectedShares(
      names,
      [
        { backends: ['b1', 'b2'], algo: 'weighted' },
        { backends: ['b3', 'b4'], algo: 'round-robin' },
      ],
      (n) => weights[n]!,
      (n) => n !== 'b4',
      [80, 20],
    );
    expect(shares.map((x) => Number(x.toFixed(9)))).toEqual([0.6, 0.2, 0.2, 0]);
    expect(pooledExpectedShares(names, [{ backends: names, algo: 'weighted' }], (n) => weights[n]!, () => true, [0])).toEqual([0.5, 1 / 6, 1 / 6, 1 / 6]);
  });
});

describe('the report with routes and TLS', () => {
  const base = JSON.parse(readFileSync(new URL('../fixtures/run-weighted-kill.json', import.meta.url), 'utf8')) as RunRecord;
  const record: RunRecord = {
    ...base,
    config: {
      ...base.config,
      tls: true,
      routes: [
        { match: '/api', pool: '/api', backends: ['b1', 'b3'], algo: 'least-conn' },
        { match: 'default', pool: 'default', backends: ['b2'] },
      ],
    },
    totals: { ...base.totals, tls: { handshakes: 16, failed: 0, handshakeMs: { p50: 1.9, p99: 4.1, max: 4.3 } } },
    backends: base.backends.map((b) => ({ ...b, pool: b.name === 'b2' ? 'default' : '/api' })),
  };

  it('is a valid run record', () => {
    expect(runRecordSchema.safeParse(record).success).toBe(true);
  });

  it('prints the TLS handshakes against plain HTTP, the routes in order and groups backends by pool', () => {
    const text = renderReport(record, { color: false });
    expect(text).toContain('TLS 16 handshakes (1 per 375 requests), p50 1.9ms, p99 4.1ms, max 4.3ms; plain HTTP: none');
    expect(text).toContain('Routes (first match wins) /api → /api (b1,b3 least-conn)');
    expect(text).toContain('no match → default (b2)');
    const lines = text.split('\n');
    const api = lines.findIndex((l) => /^\/api\s+b1\s/.test(l));
    // b3 is in /api: it moves up under b1, with the pool named once; b2 follows under default.
    expect(lines[api + 1]).toMatch(/^\s+b3\s/);
    expect(lines[api + 2]).toMatch(/^default\s+b2\s/);
  });
});

describe('the paths start sends to', () => {
  it('each path route in turn, / too when a default pool takes the rest, and / alone without path routes', () => {
    const r = (...specs: string[]) => resolveRouting({ route: specs }, ['b1', 'b2', 'b3'], []);
    expect(requestPaths(r('/api=b1,b2', '/static=b3'))).toEqual(['/api', '/static']);
    expect(requestPaths(r('/api=b1'))).toEqual(['/api', '/']);
    expect(requestPaths(r('host:static.local=b3'))).toEqual(['/']);
    expect(requestPaths(undefined)).toEqual(['/']);
  });
});
