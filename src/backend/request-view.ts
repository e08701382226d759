import type http from 'node:http';

/**
 * What one backend saw of the requests that reached it (not `/health`):
 * the lesson of a proxy is who sees whose address, and which headers
 * survive a hop. Counted in the backend process since it started; the
 * parent asks for it over IPC at the end of a run.
 */
export type BackendView = {
  /** Requests seen (not `/health`). */
  requests: number;
  /** Requests by the TCP peer address they came from (the last hop: a client, a proxy or the balancer). */
  peers: Record<string, number>;
  /** Requests that carried each header, by lowercase name (`x-forwarded-for`, `via`, `te`, `connection`, …). */
  headers: Record<string, number>;
  /** Distinct values seen of the proxy headers ({@link DISTINCT_HEADERS}), by name: 20 clients behind one balancer give 20 X-Forwarded-For values. */
  distinct: Record<string, number>;
  /** The first {@link VALUES_KEPT} distinct values of each proxy header, by name, so the views of several backends can be joined. */
  values: Record<string, string[]>;
};

/** How many distinct values of each proxy header a view carries (the count goes on past it). */
export const VALUES_KEPT = 64;

/** The headers whose distinct values are counted: those a proxy adds to say who the client was and which hops it took. */
export const DISTINCT_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'via'] as const;

/** Most distinct peers, header names or values kept, so a long run's view stays small; past it, new ones are not counted (old ones still are). */
const MAX_KEYS = 10_000;

/** Counts the {@link BackendView} of a backend's requests. */
export class RequestView {
  private requests = 0;
  private readonly peers = new Map<string, number>();
  private readonly headers = new Map<string, number>();
  private readonly values = new Map<string, Set<string>>(DISTINCT_HEADERS.map((h) => [h, new Set<string>()]));

  /** Counts one request: its peer address, every header name it carried, the values of the proxy headers. */
  record(req: Pick<http.IncomingMessage, 'socket' | 'headers'>): void {
    this.requests++;
    bump(this.peers, req.socket.remoteAddress ?? '?');
    // HTTP/2 pseudo-headers (`:path`…) are the request line, not headers.
    for (const name of Object.keys(req.headers)) if (name.charCodeAt(0) !== 58) bump(this.headers, name);
    for (const [name, set] of this.values) {
      const v = req.headers[name];
      if (v !== undefined && set.size < MAX_KEYS) set.add(Array.isArray(v) ? v.join(', ') : v);
    }
  }

  /** The view so far, as plain JSON (it crosses the IPC channel). */
  summary(): BackendView {
    const distinct: Record<string, number> = {};
    const values: Record<string, string[]> = {};
    for (const [name, set] of this.values) {
      if (set.size === 0) continue;
      distinct[name] = set.size;
      values[name] = [...set].slice(0, VALUES_KEPT);
    }
    return { requests: this.requests, peers: Object.fromEntries(this.peers), headers: Object.fromEntries(this.headers), distinct, values };
  }
}

function bump(map: Map<string, number>, key: string): void {
  const n = map.get(key);
  if (n !== undefined) map.set(key, n + 1);
  else if (map.size < MAX_KEYS) map.set(key, 1);
}
