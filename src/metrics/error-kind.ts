import type { ErrorKind } from './traffic-stats.js';

/**
 * Sorts a transport error (from undici or node:net) into an {@link ErrorKind}:
 * `refused` (ECONNREFUSED), `reset` (the peer closed or reset the socket),
 * `timeout` (connect, headers, body or abort timeouts), `other`.
 * Looks at `code` on the error and on its `cause`.
 */
export function classifyError(err: unknown): ErrorKind {
  const codes = new Set<string>();
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string') codes.add(code);
    if (name === 'TimeoutError') codes.add('ETIMEDOUT');
    e = (e as { cause?: unknown }).cause;
  }
  if (codes.has('ECONNREFUSED')) return 'refused';
  if (codes.has('UND_ERR_CONNECT_TIMEOUT') || codes.has('UND_ERR_HEADERS_TIMEOUT') || codes.has('UND_ERR_BODY_TIMEOUT') || codes.has('ETIMEDOUT')) {
    return 'timeout';
  }
  if (codes.has('ECONNRESET') || codes.has('UND_ERR_SOCKET') || codes.has('EPIPE') || codes.has('UND_ERR_CLOSED')) return 'reset';
  return 'other';
}
