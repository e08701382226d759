#!/usr/bin/env node
// bench/minimal-proxy.mjs — the least a node:http + undici reverse proxy does, as a yardstick for
// lblab's balancer (bench/balancer-overhead.mjs measures both): round robin over the backend
// URLs given as arguments, hop-by-hop headers dropped both ways, the response streamed back,
// 502 when the backend fails. No health checks, retries, timeouts or metrics.
//   node bench/minimal-proxy.mjs http://127.0.0.1:8001 http://127.0.0.1:8002
import http from 'node:http';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const pools = process.argv.slice(2).map((url) => new Pool(url, { connections: 128 }));
let next = 0;
const without = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

const server = http.createServer(async (req, res) => {
  const pool = pools[next++ % pools.length];
  try {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : req;
    const upstream = await pool.request({ path: req.url, method: req.method, headers: without(req.headers), body });
    res.writeHead(upstream.statusCode, without(upstream.headers));
    upstream.body.pipe(res);
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stderr.write(`listening on http://127.0.0.1:${server.address().port}/\n`));
process.on('SIGTERM', () => process.exit(0));
