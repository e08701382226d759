import tls from 'node:tls';
import { RuntimeError } from '../errors.js';

/** Errors that say nothing about the certificate: the server is not there or went away; the run counts them like any transport error. */
const NOT_TLS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/** How long the check waits for a handshake (ms) before leaving the verdict to the run. */
const HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * Before an https run, makes one TLS handshake with `url`'s server and
 * verifies its certificate as undici will (Node's default CA store and host
 * check). A refused handshake ends the command with a message that says why
 * and that `--insecure` accepts a self-signed certificate, rather than a run
 * in which every request fails alike. A server that is not listening, or
 * that does not answer within 5 s, is left to the run, which counts those
 * failures by kind.
 * @throws {RuntimeError} (exit 1) when the handshake fails on the certificate or the TLS protocol.
 */
export async function checkServerCertificate(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 443);
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = tls.connect({ host, port, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) });
    const done = (err: NodeJS.ErrnoException | undefined): void => {
      socket.destroy();
      resolve(err);
    };
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => done(undefined));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err));
  });
  if (!error || NOT_TLS.has(error.code ?? '')) return;
  const certificate = /CERT|SIGNATURE|ISSUER|ALTNAME|SELF_SIGNED/i.test(error.code ?? '');
  throw new RuntimeError(
    certificate
      ? `the server certificate of ${url.origin} is not trusted: ${error.message} (${error.code}); pass --insecure to accept a self-signed certificate`
      : `the TLS handshake with ${url.origin} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`,
  );
}
