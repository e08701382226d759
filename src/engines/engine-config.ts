import type { UpstreamScenario } from '../scenario/scenario.js';

/**
 * What `haproxyConfig` and `nginxConfig` write a config from: the upstream
 * scenario, the servers behind it, and the files the config names.
 */
export type EngineConfigInput = {
  upstream: UpstreamScenario;
  /** The servers, in order b1..bn (or as `balance --backend` named them). */
  backends: ReadonlyArray<{ name: string; host: string; port: number }>;
  /**
   * Paths the config names. A run writes them in its temporary directory
   * (absolute paths); `lblab export` names files beside the config, which
   * the user provides (a certificate) or the engine makes (a socket).
   */
  files: {
    /** HAProxy's admin stats socket (`show stat`, `set weight`, `set server … state`). */
    statsSocket: string;
    /** With `tls`: the certificate, PEM (for HAProxy: certificate and key in one file). */
    certificate: string;
    /** With `tls`: nginx's private key file, PEM. */
    certificateKey: string;
    /** With `accessLog`: the file nginx writes its access log to (HAProxy writes it on stdout). */
    accessLog?: string;
  };
  /** Where the config comes from, for its header comment: the lblab command line or the lab. */
  source: string;
  /**
   * Log each HTTP request on stdout as `lblab SERVER STATUS TIME` (see
   * {@link parseAccessLine}): how `lblab balance --engine` counts what the
   * engine served. Off in exports and in `start`, where the clients measure.
   */
  accessLog?: boolean;
};

/** One request as an engine's access log line tells it: the backend (`host:port` for nginx, its name for HAProxy; undefined when none served it), the status, the time taken (µs). */
export type AccessLine = { server: string | undefined; status: number; latencyUs: number };

/**
 * Reads one line of the access log {@link EngineConfigInput.accessLog}
 * asks for: HAProxy `lblab %s %ST %Ta` (server name or `<NOSRV>`, status,
 * total active time in ms), nginx `lblab $upstream_addr $status
 * $request_time` (the last address tried, `-` for none; seconds with ms
 * resolution). Undefined for any other line.
 */
export function parseAccessLine(line: string): AccessLine | undefined {
  const m = /^lblab (.+) (-?\d+) (-?[\d.]+)$/.exec(line.trim());
  if (!m) return undefined;
  const [, where, status, time] = m as unknown as [string, string, string, string];
  const last = where.split(/[,:] (?=\S)/).pop()!.trim();
  const server = last === '<NOSRV>' || last === '-' ? undefined : last;
  const seconds = time.includes('.');
  return { server, status: Number(status), latencyUs: Math.max(0, Math.round(Number(time) * (seconds ? 1e6 : 1e3))) };
}

/** One line of a generated config and the lblab flag it comes from, if any. */
export type ConfigLine = { text: string; from?: string };

/**
 * Writes `lines` as config text: each line indented `indent` levels of two
 * spaces, the flags it comes from as a trailing comment aligned after the
 * longest line (`# --algo least-conn`), `comment` starting with `#` as is.
 */
export function renderLines(lines: ReadonlyArray<ConfigLine & { indent?: number }>): string {
  const body = lines.map((l) => `${'  '.repeat(l.indent ?? 0)}${l.text}`);
  const width = Math.min(60, Math.max(...body.map((b, i) => (lines[i]!.from ? b.length : 0))));
  return body.map((b, i) => (lines[i]!.from ? `${b.padEnd(width)}  # ${lines[i]!.from}` : b).trimEnd()).join('\n') + '\n';
}

/** A duration as both HAProxy and nginx read it: whole ms with the `ms` unit, or whole seconds as `s`. */
export function duration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  return whole % 1000 === 0 && whole > 0 ? `${whole / 1000}s` : `${whole}ms`;
}

/** A backend's origin (`http://127.0.0.1:8001`) as the host and port a config names. */
export function serverOf(name: string, url: string): { name: string; host: string; port: number } {
  const u = new URL(url);
  return { name, host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

/** The `host:port` backend `name` of `input` listens on. @throws {Error} for a name that is not one of its backends (a bug of the caller). */
export function serverAddress(input: EngineConfigInput, name: string): string {
  const b = input.backends.find((x) => x.name === name);
  if (!b) throw new Error(`no backend ${name}`);
  return `${b.host}:${b.port}`;
}

/**
 * The pools of upstream `u` over the backends `names` as the engines write
 * them: each route pool with its backends and algorithm, or one pool
 * `default` of every backend.
 */
export function enginePools(u: UpstreamScenario, names: readonly string[]): Array<{ name: string; backends: string[]; algo: UpstreamScenario['algo']; own: boolean }> {
  if (!u.routing) return [{ name: 'default', backends: [...names], algo: u.algo, own: false }];
  return u.routing.pools.map((p) => ({ name: p.name, backends: [...p.backends], algo: p.algo ?? u.algo, own: p.algo !== undefined }));
}
