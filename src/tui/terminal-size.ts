import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

/** A terminal's size in cells. */
export type TerminalSize = { columns: number; rows: number };

/** What a view assumes when the output is not a terminal (a test's stream, a pipe): 100 × 30. */
const FALLBACK: TerminalSize = { columns: 100, rows: 30 };

/**
 * The size of the terminal ink draws on, kept current: it follows the
 * stream's `resize` event, so the dashboard redraws to fit after the
 * window changes (the screen is cleared first: the terminal reflowed the old
 * frame, and what ink would erase of it no longer matches).
 */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({ columns: stdout.columns || FALLBACK.columns, rows: stdout.rows || FALLBACK.rows });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => {
      // The terminal reflows what was drawn at the old width, so ink's erase of its last frame
      // (so many lines up) misses some: clear the screen, and the next frame is drawn whole.
      if (stdout.isTTY) stdout.write('\x1b[2J\x1b[3J\x1b[H');
      setSize(read());
    };
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
