/**
 * The keeper of an engine process (`haproxy`, `nginx`): lblab forks this
 * file with an IPC channel, and it starts the engine as its own child. When
 * the channel closes — lblab ended, however it ended, SIGKILL included — or
 * lblab asks, it stops the engine (SIGTERM, SIGKILL after 2 s) and exits
 * with it. A program that is not Node cannot watch lblab's IPC channel
 * itself, so this gives it the guarantee lblab's backends have (they exit on
 * `disconnect`). When the engine has ended it removes the run's temporary
 * directory, so a SIGKILLed lblab leaves no config or key behind either.
 * Arguments: the temporary directory, the program's path, then its arguments.
 * Messages to the parent: `{type: 'spawned', pid}`, `{type: 'exit', code, signal}`,
 * `{type: 'error', message}`.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const [dir, program, ...args] = process.argv.slice(2);
if (!dir || !program || !process.send) {
  process.stderr.write('lblab keeper: run by lblab only (a program to keep and an IPC channel)\n');
  process.exit(2);
}
const child = spawn(program, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let ending = false;

/** Stops the engine: SIGTERM (both engines stop at once on it), SIGKILL if it is still there 2 s later. */
function end(): void {
  if (ending) return;
  ending = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 2000).unref();
}

const send = (m: object): void => {
  if (process.connected) process.send?.(m);
};
process.on('disconnect', end);
process.on('SIGTERM', end);
process.on('SIGINT', end);
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') end();
});
child.on('spawn', () => send({ type: 'spawned', pid: child.pid }));
child.on('error', (err) => {
  send({ type: 'error', message: err.message });
  process.exit(1);
});
child.on('exit', (code, signal) => {
  rmSync(dir, { recursive: true, force: true });
  send({ type: 'exit', code, signal });
  process.disconnect?.();
  process.exit(code ?? 1);
});
