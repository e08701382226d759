import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';

/** A chalk for a text report: colour forced on or off by `color`, else chalk's own detection (NO_COLOR / FORCE_COLOR / TTY). */
export function chalkFor(color?: boolean): ChalkInstance {
  return color === undefined ? new Chalk() : new Chalk({ level: color ? 1 : 0 });
}

/**
 * A cli-table3 table without borders, columns two spaces apart, the
 * heading cyan when `c` colours, each row after `indent` (default none).
 * Column alignment, widths and wrapping pass through in `options`.
 */
export function borderlessTable(
  c: ChalkInstance,
  head: string[],
  options: Omit<Table.TableConstructorOptions, 'head' | 'style' | 'chars'> & { indent?: string } = {},
): Table.Table {
  const { indent = '', ...rest } = options;
  return new Table({
    ...rest,
    head,
    style: { head: c.level > 0 ? ['cyan'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: indent, 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
  });
}
