import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { MAX_CLIENTS } from '../load/client-addresses.js';
import { HEADER_PLACEHOLDERS, type HeaderTemplate } from '../load/request-headers.js';
import { parseInteger } from './parse.js';

/** Raw virtual-client flags as commander hands them over. */
export type ClientFlags = { clients?: string; spreadClients?: boolean; header: string[]; cookies?: boolean; path?: string[] };

/** What the virtual-client flags ask of the load generator (see `LoadConfig`). */
export type ClientOptions = {
  /** Virtual clients 1…10 000; undefined = one client on the system's source address. */
  clients: number | undefined;
  /** One /24 per client instead of 253 clients per /24. */
  spreadClients: boolean;
  headers: HeaderTemplate[];
  /** A cookie jar per client (`--no-cookies` turns them off). */
  cookies: boolean;
  /** Paths (with query) the requests take in turn (`--path`); absent = the target URL's own. */
  paths?: string[];
};

/** A header name: an RFC 9110 token (section 5.1, `token` in 5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values: visible Latin-1, space and tab; no CR, LF or other control character (RFC 9110 section 5.5, as undici checks). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers undici manages itself or refuses on a request: sending them would break every request. */
const MANAGED = ['connection', 'content-length', 'expect', 'keep-alive', 'transfer-encoding', 'upgrade'];

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * Adds `--clients --spread-clients --header --no-cookies` (used by `load`,
 * `start` and `compare`) and a help section explaining them.
 */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--clients <n>', `virtual clients (1-${MAX_CLIENTS}), each with its own source address 127.0.x.y and keep-alive connections; requests take them in turn`)
    .option('--spread-clients', 'give every virtual client its own /24 (127.x.y.1), so ip_hash-style hashing of 3 octets tells them apart')
    .option('--header <name=value>', 'header sent on every request; {client} = client number, {seq} = request number; repeatable', collect, [])
    .option('--no-cookies', 'no cookie jars: Set-Cookie is not kept or sent back (by default each client keeps its own, as a browser)')
    .option('--path <path>', 'request path (and query), e.g. /api/users; repeatable: requests take the paths in turn', collect, [])
    .addHelpText(
      'after',
      `
Virtual clients: --clients 50 sends from 127.0.0.2 … 127.0.0.51 (253 per /24,
then 127.0.1.2 …), so the balancer sees 50 different client IPs. Without
--spread-clients all clients of 127.0.0.x share one /24, and a hash of the
first three octets (nginx ip_hash on IPv4) puts them all on one backend;
--spread-clients uses 127.1.0.1, 127.1.1.1, … (one /24 each) instead.
Linux routes all of 127.0.0.0/8 to loopback; elsewhere add aliases first.
--header values may hold {client} (1 … N; 1 without --clients) and {seq}
(a request number unique in the run), e.g. --header "x-user=u{client}".
Each client (the single default one too) keeps a cookie jar: cookies a
response sets (Path, Max-Age, Expires honoured) go back on that client's
later requests, so cookie sticky sessions see it return; --no-cookies drops them.
--path /api/users --path /static/logo.png sends requests to each path in
turn (what L7 routes by); without it, every request asks for the URL's path
(for start: each --route path in turn, or /).`,
    );
}

/**
 * Validates the virtual-client flags.
 * @throws {UsageError} naming the flag: `--clients` out of range,
 * `--spread-clients` without `--clients`, a bad `--header` or `--path`.
 */
export function parseClientOptions(o: ClientFlags): ClientOptions {
  const clients = o.clients === undefined ? undefined : parseInteger('--clients', o.clients, 1, MAX_CLIENTS);
  if (o.spreadClients && clients === undefined) {
    throw new UsageError('Expected `--spread-clients` only with `--clients N`, got it alone');
  }
  const headers = o.header.map((h) => parseHeader('--header', h));
  if (headers.filter((h) => h.name.toLowerCase() === 'host').length > 1) {
    throw new UsageError('Expected `--header` to set host at most once, got it twice');
  }
  const paths = (o.path ?? []).map((p) => {
    if (!/^\/[^\s#]*$/.test(p)) throw new UsageError(`Expected \`--path\` to be a path starting with / (a query may follow, no spaces or #), got ${JSON.stringify(p)}`);
    return p;
  });
  return { clients, spreadClients: o.spreadClients ?? false, headers, cookies: o.cookies ?? true, ...(paths.length > 0 ? { paths } : {}) };
}

/**
 * Parses `NAME=VALUE` (split at the first `=`, which no header name holds).
 * The name must be an RFC 9110 token and not one undici manages
 * (connection, content-length, expect, keep-alive, transfer-encoding,
 * upgrade); the value may be empty but holds no CR, LF or other control
 * character. In the value, `{client}` and `{seq}` are placeholders; another
 * `{word}` is refused as a likely typo.
 * @throws {UsageError} naming `flag`.
 */
export function parseHeader(flag: string, raw: string): HeaderTemplate {
  const eq = raw.indexOf('=');
  if (eq < 0) throw new UsageError(`Expected \`${flag}\` to read NAME=VALUE like x-user=u{client}, got ${JSON.stringify(raw)}`);
  const name = raw.slice(0, eq);
  const value = raw.slice(eq + 1);
  if (!TOKEN.test(name)) {
    throw new UsageError(`Expected \`${flag}\` name to be a header name (letters, digits and !#$%&'*+-.^_\`|~), got ${JSON.stringify(name)}`);
  }
  if (MANAGED.includes(name.toLowerCase())) {
    throw new UsageError(`Expected \`${flag}\` name not to be one the HTTP client manages (${MANAGED.join(', ')}), got ${JSON.stringify(name)}`);
  }
  if (!FIELD_VALUE.test(value)) {
    throw new UsageError(`Expected \`${flag}\` value to hold no line breaks or control characters, got ${JSON.stringify(value)}`);
  }
  const unknown = value.match(/\{[A-Za-z_]+\}/g)?.find((p) => !(HEADER_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown) {
    throw new UsageError(`Expected \`${flag}\` placeholders to be ${HEADER_PLACEHOLDERS.join(' or ')}, got ${unknown}`);
  }
  return { name, value };
}
