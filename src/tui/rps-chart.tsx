import { Box, Text } from 'ink';
import type { RunEvent } from '../metrics/run-record.js';
import { formatRate } from '../report/format.js';
import { HISTORY_SECONDS, type RunSnapshot } from '../session/snapshot.js';
import { pad, widest } from './pad.js';

const SPARK = '▁▂▃▄▅▆▇█';

/** The events the chart marks, and the mark each gets in the second it fell in. */
const MARKS: Readonly<Record<string, string>> = { kill: 'k', exit: 'k', down: '▼', up: '▲', restart: 'r', started: 'r', drain: 'd', draining: 'd', remove: 'x', algo: 'a', weight: 'w' };

/** The legend of {@link MARKS}, as the chart's title line shows it. */
const LEGEND = 'k kill ▼ down ▲ up r restart d drain a algo w weight';

/** Props of {@link RpsChart}: the snapshot (its `history`, backends and events) and the width it may take, in columns. */
export type RpsChartProps = { snapshot: RunSnapshot; width: number };

/** The lines {@link RpsChart} takes for `backends` backends: a title, one per backend, the marks. */
export function rpsChartRows(backends: number): number {
  return backends + 2;
}

/**
 * The live chart: each backend's responses per second over the last
 * {@link HISTORY_SECONDS} whole seconds (as fit in `width`), one cell per
 * second, all on one scale (the busiest second of any backend is a full
 * block), its rate over the last second after it; under the lines, a mark
 * in each second an event fell in (a kill, DOWN, UP, restart, drain, an
 * algorithm or weight change). Failover shows as it happens: the killed
 * backend's line drops to the floor and the others' rise.
 */
export function RpsChart({ snapshot: s, width }: RpsChartProps) {
  const h = s.history;
  if (!h || h.perBackend.every((series) => series.length === 0)) return <Text dimColor>req/s per backend: the first second is under way</Text>;
  const names = s.backends.map((b) => b.name);
  const label = widest(names, 6);
  const tails = s.backends.map((b) => `${formatRate(b.rps)}/s`);
  const tail = widest(tails);
  const cells = Math.max(5, Math.min(HISTORY_SECONDS, width - label - tail - 3));
  const len = Math.max(...h.perBackend.map((x) => x.length));
  const from = Math.max(0, len - cells);
  const max = Math.max(1, ...h.perBackend.flatMap((x) => x.slice(from)));
  const fromS = h.fromS + from;
  const marks = Array.from({ length: Math.min(cells, len - from) }, () => ' ');
  for (const e of s.events as readonly RunEvent[]) {
    const mark = MARKS[e.type];
    const k = Math.floor(e.atMs / 1000) - fromS;
    if (mark && k >= 0 && k < marks.length) marks[k] = marks[k] === ' ' || marks[k] === mark ? mark : '*';
  }
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate">
        req/s per backend, a cell a second from +{fromS}s · {LEGEND}
      </Text>
      {h.perBackend.map((series, i) => {
        const line = series
          .slice(from)
          .map((v) => (v <= 0 ? '·' : SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * SPARK.length))]!))
          .join('');
        return (
          <Text key={names[i]} wrap="truncate">
            {pad(names[i]!, label)} <Text color={s.backends[i]?.process === 'exited' ? 'red' : 'cyan'}>{pad(line, cells)}</Text> {pad(tails[i]!, tail, 'right')}
          </Text>
        );
      })}
      <Text wrap="truncate">
        {pad('events', label)} <Text color="yellow">{marks.join('').trimEnd()}</Text>
      </Text>
    </Box>
  );
}
