import type net from 'node:net';
import type { ConnectionRecord } from '../../metrics/run-record.js';
import { lastSecondRate } from '../../metrics/traffic-stats.js';
import { UpstreamBackend } from '../upstream-backend.js';

/** A backend's connection counters as the L4 balancer reports them live; `rate` in connections per second over the last second. */
export type ConnectionState = Required<ConnectionRecord> & { rate: number };

/**
 * One backend of the L4 balancer: everything an {@link UpstreamBackend}
 * holds (weight, rise/fall health, drain, removal) plus what was relayed to
 * it. Its `inFlight` counts connections open to it or being opened, which is
 * what `least-conn` compares (HAProxy `leastconn` in `mode tcp`).
 */
export class TcpUpstreamBackend extends UpstreamBackend {
  /** Connections established to it (HAProxy `stot`). */
  connectionsTotal = 0;
  /** Connects to it refused, reset or timed out (HAProxy `econ`). */
  connectErrors = 0;
  /** Established upstream sockets still open. */
  readonly open = new Set<net.Socket>();
  /** Connections established per second of the run: element i is second [i, i+1). */
  readonly perSecond: number[] = [];
  private closedBytesIn = 0;
  private closedBytesOut = 0;

  /** Host and port to connect to, from the origin. */
  get address(): { host: string; port: number } {
    const url = new URL(this.origin);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) };
  }

  /** Counts a connection established at `atMs` (run clock, ms) on socket `upstream`. */
  opened(upstream: net.Socket, atMs: number): void {
    this.connectionsTotal++;
    this.open.add(upstream);
    const sec = Math.max(0, Math.floor(atMs / 1000));
    while (this.perSecond.length <= sec) this.perSecond.push(0);
    this.perSecond[sec]!++;
  }

  /** Forgets a closed upstream socket, keeping the bytes it carried. */
  closed(upstream: net.Socket): void {
    if (!this.open.delete(upstream)) return;
    this.closedBytesIn += upstream.bytesWritten;
    this.closedBytesOut += upstream.bytesRead;
  }

  /**
   * Bytes relayed so far: `in` from clients to this backend (what was
   * written to it), `out` from it to clients (what was read from it),
   * open connections included.
   */
  bytes(): { in: number; out: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const s of this.open) {
      bytesIn += s.bytesWritten;
      bytesOut += s.bytesRead;
    }
    return { in: bytesIn, out: bytesOut };
  }

  /** The counters now; `nowMs` on the run clock gives the rate over the last second. */
  connectionState(nowMs: number): ConnectionState {
    const { in: bytesIn, out: bytesOut } = this.bytes();
    return { total: this.connectionsTotal, active: this.open.size, bytesIn, bytesOut, connectErrors: this.connectErrors, rate: lastSecondRate(this.perSecond, nowMs) };
  }
}

