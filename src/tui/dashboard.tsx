import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { isAlgorithmName, reportsLoad } from '../balancer/algorithms/index.js';
import type { RunControls, RunSnapshot } from '../session/snapshot.js';
import { BackendTable } from './backend-table.js';
import { EventLog } from './event-log.js';
import { Header } from './header.js';
import { KeyLine, keyLineRows } from './key-line.js';
import { bindingOf } from './keymap.js';
import { LatencyChart, latencyChartRows } from './latency-chart.js';
import { RpsChart, rpsChartRows } from './rps-chart.js';
import { useTerminalSize } from './terminal-size.js';

/** Props of {@link Dashboard}: the running session's controls and the snapshot refresh period in ms (default 100). */
export type DashboardProps = { controls: RunControls; refreshMs?: number };

/** `index` clamped to a valid row of `count` backends (0 when there are none). */
function clampIndex(index: number, count: number): number {
  return Math.max(0, Math.min(index, count - 1));
}

/**
 * The live dashboard: header, backend table, latency histogram, the last 6
 * events and the key line. It copies `controls.snapshot()` into state every
 * `refreshMs` ms (default 200: 5 redraws a second, under ink's 10 fps cap;
 * `npm run bench:dashboard` measures what drawing costs the balancer) and
 * turns keys into `RunControls` calls on the selected backend; it computes
 * nothing itself. Keys are the keymap's (`keymap.ts`): selection, kill,
 * restart, each fault and recover, drain, algorithm, load, pause, quit; `w`
 * then digits and Enter set the selected backend's weight (Esc cancels).
 * The caller unmounts after `quit()`.
 */
export function Dashboard({ controls, refreshMs = 200 }: DashboardProps) {
  const [snapshot, setSnapshot] = useState<RunSnapshot>(() => controls.snapshot());
  const [selected, setSelected] = useState(0);
  // The req/s chart: shown when it fits (auto), or as the `t` key last asked.
  const [chart, setChart] = useState<ChartWish>('auto');
  const chartShownRef = useRef(false);
  // Key handlers read refs: two keys can arrive before React re-renders.
  const snapshotRef = useRef(snapshot);
  const selectedRef = useRef(selected);
  // The weight being typed after `w`, for the backend named; undefined when not editing.
  const [weightEdit, setWeightEdit] = useState<{ backend: string; text: string } | undefined>(undefined);
  const weightRef = useRef(weightEdit);
  const editWeight = (next: { backend: string; text: string } | undefined): void => {
    weightRef.current = next;
    setWeightEdit(next);
  };
  const commitWeight = (): void => {
    const edit = weightRef.current;
    editWeight(undefined);
    // Weights run 1…1000; anything else is dropped rather than clamped behind the user's back.
    const weight = Number(edit?.text);
    if (edit && Number.isInteger(weight) && weight >= 1 && weight <= 1000) controls.setWeight(edit.backend, weight);
  };

  useEffect(() => {
    const timer = setInterval(() => {
      const next = controls.snapshot();
      snapshotRef.current = next;
      setSnapshot(next);
    }, refreshMs);
    return () => clearInterval(timer);
  }, [controls, refreshMs]);

  const select = (index: number) => {
    selectedRef.current = index;
    setSelected(index);
  };

  /** Carries out the keymap's binding of `key` (a character, `up`, `down` or `ctrl+c`), if it has one. */
  const run = (key: string): void => {
    const binding = bindingOf(key);
    if (!binding) return;
    if (binding.action === 'quit') return controls.quit();
    const snap = snapshotRef.current;
    if (binding.pairOnly && !snap.balancers) return;
    const count = snap.backends.length;
    const current = clampIndex(selectedRef.current, count);
    const name = snap.backends[current]?.name;
    const c = snap.concurrency;
    switch (binding.action) {
      case 'select-previous':
        return select(clampIndex(current - 1, count));
      case 'select-next':
        return select(clampIndex(current + 1, count));
      case 'select-row': {
        const index = Number(key) - 1;
        if (index < count) select(index);
        return;
      }
      case 'kill':
        if (name !== undefined) controls.kill(name);
        return;
      case 'kill-active-balancer':
        controls.killActiveBalancer?.();
        return;
      case 'restart':
        if (name !== undefined) controls.restart(name);
        return;
      case 'toggle-fault':
        if (name !== undefined) controls.toggleFault(binding.fault, name);
        return;
      case 'recover':
        if (name !== undefined) controls.recover(name);
        return;
      case 'more-load':
        // Open model: the same keys double and halve the rate.
        if (snap.rate !== undefined) controls.setRate?.(snap.rate * 2);
        else controls.setConcurrency(Math.max(1, c * 2));
        return;
      case 'less-load':
        if (snap.rate !== undefined) controls.setRate?.(snap.rate / 2);
        else controls.setConcurrency(Math.max(1, Math.floor(c / 2)));
        return;
      case 'pause':
        return controls.togglePause();
      case 'toggle-chart':
        return setChart((was) => (was === 'off' || (was === 'auto' && !chartShownRef.current) ? 'on' : 'off'));
      case 'next-algorithm':
        return controls.cycleAlgorithm();
      case 'drain':
        if (name !== undefined) controls.toggleDrain(name);
        return;
      case 'edit-weight':
        if (name !== undefined && !snap.backends[current]!.removed) editWeight({ backend: name, text: '' });
        return;
    }
  };

  /** One key press: a single printable character. While a weight is typed, only digits and Enter count. */
  const press = (ch: string): void => {
    const edit = weightRef.current;
    if (edit) {
      if (/^[0-9]$/.test(ch) && edit.text.length < 4) editWeight({ ...edit, text: edit.text + ch });
      else if (ch === '\r' || ch === '\n') commitWeight();
      return;
    }
    run(ch);
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return run('ctrl+c');
    // Esc comes with meta set, so it is looked at first.
    if (weightRef.current && key.escape) return editWeight(undefined);
    if (key.ctrl || key.meta) return;
    if (weightRef.current) {
      if (key.return) return commitWeight();
      if (key.backspace || key.delete) return editWeight({ ...weightRef.current, text: weightRef.current.text.slice(0, -1) });
    }
    if (weightRef.current) {
      // While a weight is typed, arrows do not move the selection away from the backend it is for.
      for (const ch of input) press(ch);
      return;
    }
    if (key.upArrow) return run('up');
    if (key.downArrow) return run('down');
    // Keys typed quickly (or pasted) can arrive as one chunk, e.g. "2k":
    // act on each character in order.
    for (const ch of input) press(ch);
  });

  const size = useTerminalSize();
  const fit = fitPanels(snapshot, size, chart);
  chartShownRef.current = fit.chart;
  return (
    <Box flexDirection="column" width={size.columns}>
      <Header snapshot={snapshot} />
      <Box marginTop={1}>
        <BackendTable backends={snapshot.backends} selected={clampIndex(selected, snapshot.backends.length)} sharesSinceMs={snapshot.periodStartMs}
          showLoad={isAlgorithmName(snapshot.algo) && reportsLoad(snapshot.algo)} width={size.columns}
        />
      </Box>
      {fit.chart ? (
        <Box marginTop={1}>
          <RpsChart snapshot={snapshot} width={size.columns} />
        </Box>
      ) : null}
      <Box marginTop={1}>
        <LatencyChart latency={snapshot.latency} folded={fit.latencyFolded} of={snapshot.webSockets ? 'echoes' : 'responses'} />
      </Box>
      <Box marginTop={1}>
        <EventLog events={snapshot.events} limit={fit.events} />
      </Box>
      <Box marginTop={1}>
        {weightEdit ? (
          <Text>
            weight of <Text bold>{weightEdit.backend}</Text>: <Text color="cyan">{weightEdit.text}▏</Text>
            <Text dimColor> 1-1000, Enter sets, Esc cancels</Text>
          </Text>
        ) : (
          <KeyLine width={size.columns} pair={snapshot.balancers !== undefined} />
        )}
      </Box>
    </Box>
  );
}

/** The newest events the log shows when there is room. */
const MAX_EVENTS = 6;

/** The lines a latency histogram usually takes (five buckets and the percentile line, and one to spare): what the chart leaves room for. */
const TYPICAL_HISTOGRAM_ROWS = 7;

/** What the user asked of the req/s chart: nothing yet (shown when it fits), shown, or hidden (the `t` key). */
export type ChartWish = 'auto' | 'on' | 'off';

/**
 * How the panels share a terminal of `size`: the header, the backend table
 * and the key line always show; below them the req/s chart shows when it
 * fits beside the latency histogram and a few events (or when asked with
 * `t`, at the histogram's expense), the histogram folds to its percentile
 * line and the event log shortens (to one event at least) until everything
 * fits in `size.rows − 1` lines (ink redraws the whole screen, flickering,
 * once its output reaches the terminal's height).
 */
export function fitPanels(s: RunSnapshot, size: { columns: number; rows: number }, chart: ChartWish = 'auto'): { chart: boolean; latencyFolded: boolean; events: number } {
  const header = 2 + (s.sticky || s.rateLimit || s.sessions ? 1 : 0) + (s.regions ? 1 : 0) + (s.webSockets ? 1 : 0) + (s.balancers ? 1 : 0);
  const table = 1 + s.backends.length + s.backends.filter((b) => b.faults.length > 0).length;
  const fixed = header + 1 + table + 1 + 1 + 1 + keyLineRows(size.columns, s.balancers !== undefined);
  let room = size.rows - 1 - fixed;
  const histogram = latencyChartRows(s.latency);
  const chartRows = 1 + rpsChartRows(s.backends.length);
  const events = Math.min(MAX_EVENTS, Math.max(1, s.events.length));
  // Nothing to chart before the first whole second (or from a view with no history).
  // Decided on the room a histogram usually takes, not on this frame's: the chart must not come and go as buckets fill.
  const showChart = s.history !== undefined && (chart === 'on' || (chart === 'auto' && room >= chartRows + TYPICAL_HISTOGRAM_ROWS + 1));
  if (showChart) room -= chartRows;
  const latencyFolded = room - histogram < events;
  room -= latencyFolded ? 1 : histogram;
  return { chart: showChart, latencyFolded, events: Math.max(1, Math.min(MAX_EVENTS, room)) };
}
