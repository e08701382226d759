import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { Pool, ProxyAgent, request } from 'undici';
import { parseAllow } from '../../src/proxy/destination.js';
import { REFUSED_HEADER, startForwardProxy, type ProxyLogEntry } from '../../src/proxy/forward-proxy.js';
import { closersAfterEach, listenHttp, listenHttps } from '../support/loopback.js';

const closers = closersAfterEach();

/** Starts the forward proxy on a free port with `allow`, closed after the test; its log entries are collected. */
async function proxy(allow: string[] = []) {
  const log: ProxyLogEntry[] = [];
  const p = await startForwardProxy({ port: 0, allow: allow.map((a) => parseAllow('--allow', a)), onRequest: (e) => log.push(e) });
  closers.push(() => p.close());
  return { ...p, log };
}

/** Sends `GET <target>` in absolute form to the proxy with node:http (a fresh connection each time) and reads the whole answer. */
function absoluteGet(proxyPort: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'GET', path: target, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `CONNECT <authority>` to the proxy and resolves with the status line's code and the body of a refusal. */
function connectTo(proxyPort: number, authority: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority, agent: false });
    // node:http hands over every answer to CONNECT as 'connect', a refusal's body on the socket.
    req.on('connect', (res, socket, head) => {
      if (res.statusCode === 200) {
        socket.destroy();
        resolve({ status: 200, headers: res.headers, body: '' });
        return;
      }
      let body = head.toString('utf8');
      socket.setEncoding('utf8').on('data', (d: string) => (body += d));
      socket.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lblab forward proxy on real sockets', () => {
  it('forwards an absolute-form GET to a loopback server: the server sees the proxy as its peer, Via, its own Host, and no hop-by-hop or Proxy-* headers', async () => {
    let seen: { peer: string; headers: http.IncomingHttpHeaders; url: string } | undefined;
    const server = await listenHttp((req, res) => {
      seen = { peer: req.socket.remoteAddress!, headers: req.headers, url: req.url! };
      // A hop-by-hop header of the server's own, named by Connection: for the proxy only.
      res.setHeader('connection', 'x-hop');
      res.setHeader('x-hop', 'for the proxy');
      res.end('hello');
    }, closers);
    const p = await proxy();
    // The client binds 127.0.0.9, so "the proxy's address" is told apart from the client's.
    const pool = new Pool(p.url, { localAddress: '127.0.0.9' });
    closers.push(() => pool.close());
    const res = await pool.request({
      method: 'GET',
      path: `${server.url}/page?q=1`,
      headers: { 'proxy-authorization': 'Basic dTpw', te: 'trailers', 'proxy-connection': 'keep-alive', 'x-end-to-end': 'kept' },
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('hello');
    expect(res.headers.via).toBe('1.1 lblab');
    expect(res.headers['x-hop']).toBeUndefined();
    expect(seen!.url).toBe('/page?q=1');
    expect(seen!.peer).toBe('127.0.0.1');
    expect(seen!.headers.via).toBe('1.1 lblab');
    expect(seen!.headers.host).toBe(`127.0.0.1:${server.port}`);
    expect(seen!.headers['x-end-to-end']).toBe('kept');
    for (const gone of ['proxy-authorization', 'proxy-connection', 'te', 'x-forwarded-for']) expect(seen!.headers[gone]).toBeUndefined();
    expect(p.log).toEqual([{ client: expect.stringMatching(/^127\.0\.0\.9:\d+$/), method: 'GET', destination: `127.0.0.1:${server.port}`, status: 200 }]);
  });

  it('opens a CONNECT tunnel to a loopback TLS server (undici ProxyAgent), and localhost goes to 127.0.0.1', async () => {
    const tls = await listenHttps((req, res) => res.end(`tls ${req.socket.remoteAddress}`), closers);
    const plain = await listenHttp((_req, res) => res.end('plain'), closers);
    const p = await proxy();
    const agent = new ProxyAgent({ uri: p.url, requestTls: { rejectUnauthorized: false } });
    closers.push(() => agent.close());
    const res = await request(`${tls.url}/`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('tls 127.0.0.1');
    expect(p.log[0]).toMatchObject({ method: 'CONNECT', destination: `127.0.0.1:${tls.port}`, status: 200 });
    expect((await connectTo(p.port, `localhost:${plain.port}`)).status).toBe(200);
  });

  it('refuses a TEST-NET address and a name not allowed with 403 naming the rule, without connecting or looking the name up', async () => {
    const p = await proxy();
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): a connect would hang to the 10 s timeout (504); a 403 means none was tried.
    const ip = await absoluteGet(p.port, 'http://192.0.2.1/');
    expect(ip.status).toBe(403);
    expect(ip.headers[REFUSED_HEADER]).toBe('not-loopback-not-allowed');
    expect(ip.body).toBe('destination 192.0.2.1:80 is not loopback and not in --allow\n');
    // .invalid never resolves (RFC 6761): a lookup would end in 502 ENOTFOUND.
    const name = await absoluteGet(p.port, 'http://db.example.invalid:5432/');
    expect(name.status).toBe(403);
    expect(name.body).toBe('destination db.example.invalid:5432 is not loopback and not in --allow\n');
    const tunnel = await connectTo(p.port, '192.0.2.1:443');
    expect(tunnel.status).toBe(403);
    expect(tunnel.headers[REFUSED_HEADER]).toBe('not-loopback-not-allowed');
    expect(tunnel.body).toBe('destination 192.0.2.1:443 is not loopback and not in --allow\n');
    expect((await connectTo(p.port, `127.0.0.1:${p.port}`)).status).toBe(403);
    expect(p.log.map((e) => e.status)).toEqual([403, 403, 403, 403]);
  });

  it('answers an origin-form request 400: it is a forward proxy, not a web server', async () => {
    const p = await proxy();
    const res = await absoluteGet(p.port, '/index.html');
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/^lblab proxy is a forward proxy: send absolute-form requests/);
  });

  it('lets an --allow entry through, only on its port when it names one', async () => {
    const server = await listenHttp((_req, res) => res.end('allowed'), closers);
    // A name that does not resolve, allowed: it is looked up then (and fails: 502), where a refused one gets 403.
    const p = await proxy(['lblab-allowed.invalid', '10.1.2.3:9']);
    const looked = await absoluteGet(p.port, 'http://lblab-allowed.invalid/');
    expect(looked.status).toBe(502);
    expect(looked.body).toMatch(/could not reach lblab-allowed\.invalid:80: (ENOTFOUND|EAI_AGAIN)/);
    const other = await absoluteGet(p.port, 'http://10.1.2.3:8080/');
    expect(other.status).toBe(403);
    expect(other.headers[REFUSED_HEADER]).toBe('port-not-allowed');
    expect(other.body).toBe('destination 10.1.2.3:8080 is in --allow only on port 9\n');
    const p2 = await proxy([`127.0.0.1:${server.port}`]);
    expect((await absoluteGet(p2.port, `${server.url}/`)).body).toBe('allowed');
  });
});
