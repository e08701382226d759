import type net from 'node:net';
import { RuntimeError, UsageError } from '../errors.js';

/**
 * Binds `server` (HTTP, HTTPS or plain TCP) to `host:port` (0 = any free
 * port) and resolves to the port bound.
 * @throws {UsageError} naming `--port` when it is taken or not allowed;
 * {@link RuntimeError} on any other listen error.
 */
export async function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? new UsageError(`Expected \`--port\` to be a free port, but ${host}:${port} is already in use`)
          : err.code === 'EACCES'
            ? new UsageError(`Expected \`--port\` to be a port this user may bind, got ${port}`)
            : new RuntimeError(`balancer could not listen on ${host}:${port}: ${err.message}`),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}
