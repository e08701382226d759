import type { ErrorKind } from './traffic-stats.js';

/**
 * Sorts a transport error (from undici or node:net) into an {@link ErrorKind}:
 * `refused` (ECONNREFUSED), `reset` (the peer closed or reset the socket,
 * or the balancer cut it when the backend was marked DOWN: `LBLAB_MARKED_DOWN`),
 * `timeout` (connect, headers, body or abort timeouts), `other`.
 * Looks at `code` on the error and on its `cause`.
 */
export function classifyError(err: unknown): ErrorKind {
  const codes = errorCodes(err);
  if (codes.has('ECONNREFUSED')) return 'refused';
  if (codes.has('UND_ERR_CONNECT_TIMEOUT') || codes.has('UND_ERR_HEADERS_TIMEOUT') || codes.has('UND_ERR_BODY_TIMEOUT') || codes.has('ETIMEDOUT')) {
    return 'timeout';
  }
  if (codes.has('ECONNRESET') || codes.has('UND_ERR_SOCKET') || codes.has('EPIPE') || codes.has('UND_ERR_CLOSED') || codes.has('LBLAB_MARKED_DOWN')) return 'reset';
  return 'other';
}

/** The transport error codes of a try, from the error and up to two `cause`s deep. */
function errorCodes(err: unknown): Set<string> {
  const codes = new Set<string>();
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string') codes.add(code);
    if (name === 'TimeoutError') codes.add('ETIMEDOUT');
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * What went wrong with a try, in lblab's words, for the body of a 502/504
 * and the event log: never a library's message (undici's assertion text,
 * llhttp's parser codes). `limits` gives the timeouts in ms to name them.
 */
export function describeTryFailure(err: unknown, limits: { connectTimeoutMs: number; responseTimeoutMs: number }): string {
  const codes = errorCodes(err);
  switch (classifyError(err)) {
    case 'refused':
      return 'refused the connection';
    case 'timeout':
      if (codes.has('UND_ERR_CONNECT_TIMEOUT')) return `did not accept the connection within ${limits.connectTimeoutMs} ms (--connect-timeout)`;
      return `did not answer within ${limits.responseTimeoutMs} ms (--response-timeout)`;
    case 'reset':
      if (codes.has('LBLAB_MARKED_DOWN')) return 'was marked DOWN by its health checks while it held the request, which was cut (--on-marked-down shutdown-sessions)';
      return 'closed or reset the connection before the whole response';
    default:
      return 'sent a response that is not valid HTTP/1.1';
  }
}
