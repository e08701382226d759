import { render } from 'ink';
import type { RunControls } from '../session/snapshot.js';
import { Dashboard } from './dashboard.js';

/** A mounted dashboard: `unmount()` removes it, `waitUntilExit()` settles once it is gone. */
export type DashboardHandle = { unmount(): void; waitUntilExit(): Promise<void> };

/**
 * Mounts the live {@link Dashboard} on process.stdout/stdin (a TTY: ink puts
 * stdin in raw mode). Ctrl-C reaches the dashboard as a key and calls
 * `controls.quit()` instead of ink exiting on its own; redraws are capped at
 * 10 per second. The caller unmounts after `quit()`, then awaits
 * `waitUntilExit()` before tearing the session down. Import this module
 * lazily so plain runs never load ink.
 */
export function renderDashboard(controls: RunControls): DashboardHandle {
  const instance = render(<Dashboard controls={controls} />, { exitOnCtrlC: false, maxFps: 10, patchConsole: false });
  return {
    unmount: () => instance.unmount(),
    waitUntilExit: async () => {
      await instance.waitUntilExit();
    },
  };
}
