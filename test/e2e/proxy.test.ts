import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach, listeningPort, runCli, runCliToEnd } from '../support/cli.js';
import { listenLoopback } from '../support/loopback.js';

const { servers, tags } = cleanUpAfterEach();

/** GETs `target` in absolute form through the proxy on `proxyPort` (node:http, a fresh connection). */
function viaProxy(proxyPort: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: proxyPort, path: target, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('lblab proxy', () => {
  it('forwards to loopback, refuses the rest, logs one line per request and ends on SIGTERM', async () => {
    const server = http.createServer((req, res) => res.end(`via ${req.headers.via}`));
    servers.push(server);
    const port = await listenLoopback(server);
    const run = runCli(['proxy', '--port', '0']);
    tags.push(run.tag);
    const proxyPort = Number(await listeningPort(run));
    expect(await viaProxy(proxyPort, `http://127.0.0.1:${port}/a`)).toEqual({ status: 200, body: 'via 1.1 lblab' });
    expect(await viaProxy(proxyPort, 'http://192.0.2.1/')).toEqual({ status: 403, body: 'destination 192.0.2.1:80 is not loopback and not in --allow\n' });
    await run.waitFor(/→ 192\.0\.2\.1:80 GET 403 \(destination 192\.0\.2\.1:80 is not loopback and not in --allow\)/);
    expect(run.stdout()).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${port} GET 200$`, 'm'));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('--quiet prints no request lines', async () => {
    const run = runCli(['proxy', '--port', '0', '--quiet']);
    tags.push(run.tag);
    const proxyPort = Number(await listeningPort(run));
    expect((await viaProxy(proxyPort, 'http://10.0.0.1/')).status).toBe(403);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toBe('');
  });

  const bad: Array<[string[], RegExp]> = [
    [['proxy', '--port', 'http'], /^lblab: Expected `--port`.*got "http"$/],
    [['proxy', '--port', '70000'], /^lblab: Expected `--port`.*got "70000"$/],
    [['proxy', '--allow', 'a:b:c'], /^lblab: Expected `--allow` to be host\[:port\].*got "a:b:c"$/],
    [['proxy', '--allow', 'example.test:0'], /^lblab: Expected `--allow` port to be 1-65535, got "example.test:0"$/],
    [['proxy', '--bind', '0.0.0.0'], /^lblab: unknown option '--bind'$/],
  ];
  it.each(bad)('lblab %j exits 2 with one line', async (args, message) => {
    const r = await runCliToEnd(args, 10_000);
    tags.push(r.tag);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
  });
});
