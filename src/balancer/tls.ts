import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import { LatencyHistogram } from '../metrics/latency-histogram.js';

/** A certificate and its private key, PEM. */
export type Pem = { key: string; cert: string };

/**
 * Generates the self-signed certificate `--tls` serves: an EC P-256 key,
 * SHA-256 signature, valid one day, subject and subjectAltName the listen
 * address (as an IP entry when it is one) and `localhost`. Made by the
 * `selfsigned` package at start (about 20 ms), never written to disk.
 */
export async function selfSignedCertificate(host: string): Promise<Pem> {
  const ip = /^[\d.]+$/.test(host) || host.includes(':');
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** TLS handshakes as the run record keeps them: completed, failed, and how long a completed one took (ms, from TCP accept to `secureConnection`). */
export type TlsStats = { handshakes: number; failed: number; handshakeMs: { p50: number; p99: number; max: number } };

/**
 * Measures the TLS handshakes of a server: for each new connection, the
 * time from the TCP accept (`connection`) to the end of the handshake
 * (`secureConnection`), in µs with hdr-histogram, and the handshakes that
 * failed (`tlsClientError`). Only new connections shake hands: a
 * keep-alive connection pays once for all its requests, which is what
 * makes TLS termination cheap in the long run.
 */
export class HandshakeMeter {
  private readonly hist = new LatencyHistogram();
  private readonly acceptedAt = new Map<string, number>();
  private failedCount = 0;

  /** Starts measuring `server`'s handshakes. */
  attach(server: TlsServer): void {
    // The TLS socket wraps the accepted TCP socket; its peer address and port name it.
    server.on('connection', (socket: Socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      this.acceptedAt.set(key, performance.now());
      socket.once('close', () => this.acceptedAt.delete(key));
    });
    server.on('secureConnection', (socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      const since = this.acceptedAt.get(key);
      if (since === undefined) return;
      this.acceptedAt.delete(key);
      this.hist.record((performance.now() - since) * 1000);
    });
    server.on('tlsClientError', () => this.failedCount++);
  }

  /** What was measured so far; times in ms rounded to µs. */
  stats(): TlsStats {
    const r = (ms: number) => Math.round(ms * 1000) / 1000;
    const s = this.hist.summary();
    // A percentile reads the top of its hdr bucket, which may lie a few µs above the largest value seen.
    const cap = (ms: number) => r(Math.min(ms, s.max));
    return { handshakes: this.hist.count, failed: this.failedCount, handshakeMs: { p50: cap(s.p50), p99: cap(s.p99), max: r(s.max) } };
  }
}
