/**
 * The cleanup registry: everything that starts a process, a socket or a timer
 * registers how to stop it, and teardown runs every step once, newest first,
 * each in its own try/catch, with a forced exit if a step hangs.
 * Shape taken from gemini-cli `utils/cleanup.ts`.
 */

type CleanupStep = { name: string; run: () => void | Promise<void> };

const steps: CleanupStep[] = [];
let running: Promise<void> | undefined;

/**
 * Registers `run` to be called at teardown. Returns a function that removes
 * the step again (call it when the resource was closed the ordinary way).
 */
export function registerCleanup(name: string, run: () => void | Promise<void>): () => void {
  const step: CleanupStep = { name, run };
  steps.push(step);
  return () => {
    const i = steps.indexOf(step);
    if (i >= 0) steps.splice(i, 1);
  };
}

/**
 * Runs every registered step, newest first. Errors in one step never stop the
 * next. If the whole teardown takes longer than `forceAfterMs` (ms), the
 * process exits with `forceExitCode` so nothing hangs forever. Calling it
 * again while it runs returns the same promise.
 */
export function runCleanup(forceAfterMs = 5000, forceExitCode = 1): Promise<void> {
  if (running) return running;
  const timer = setTimeout(() => {
    process.stderr.write('lblab: teardown took too long, exiting\n');
    process.exit(forceExitCode);
  }, forceAfterMs);
  timer.unref();
  running = (async () => {
    while (steps.length > 0) {
      const step = steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        process.stderr.write(`lblab: cleanup of ${step.name} failed: ${(err as Error).message}\n`);
      }
    }
    clearTimeout(timer);
    running = undefined;
  })();
  return running;
}
