import { Chalk } from 'chalk';
import { formatLatency } from '../backend/latency.js';
import type { ScheduledEvent } from '../scenario/timeline.js';
import { formatDuration, formatPct } from '../report/format.js';
import { borderlessTable } from '../report/text-table.js';
import type { RunScenario } from '../scenario/scenario.js';
import { expectationWords } from './evaluate.js';
import type { Lab } from './lab.js';

/** `lblab lab list`: one row per lab in course order — number, name, title, duration (of all its runs), runs. */
export function renderLabList(labs: readonly Lab[]): string {
  const c = new Chalk();
  const table = borderlessTable(c, ['#', 'name', 'title', 'duration', 'runs'], { colAligns: ['right', 'left', 'left', 'right', 'right'] });
  for (const lab of labs) {
    table.push([lab.order === 999 ? '' : String(lab.order), lab.name, lab.title, formatDuration(lab.durationMs), String(lab.runs.length)]);
  }
  return `${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n\nlblab lab explain NAME tells what a lab teaches; lblab lab run NAME runs it.\n`;
}

/** `lblab lab explain`: the title, what the lab teaches, what each run does, each expectation with its bounds (and the engines it holds on, when not all), and the engines the lab runs on. */
export function renderLabExplain(lab: Lab): string {
  const c = new Chalk();
  const out: string[] = [c.bold(`${lab.name}: ${lab.title}`), '', lab.teaches, ''];
  for (const run of lab.runs) {
    out.push(c.bold(lab.runs.length > 1 ? `Run ${run.name}` : 'The run'));
    out.push(...scenarioLines(run.config).map((l) => `  ${l}`));
    out.push('');
  }
  out.push(c.bold('Expected'));
  for (const e of lab.expectations) {
    const w = expectationWords(e, lab.runs.length > 1);
    out.push(`  ${w.text}: ${w.expected}${e.engines ? c.dim(`  (on ${e.engines.join(', ')})`) : ''}`);
  }
  out.push('', `Runs on: ${lab.engines.join(', ')}${lab.engines.length > 1 ? ` (lblab lab run ${lab.name} --engine ${lab.engines.find((e) => e !== 'lblab')})` : ''}`);
  out.push('', c.dim(`lblab lab run ${lab.name}   (${formatDuration(lab.durationMs)}, ${lab.file})`));
  return out.join('\n') + '\n';
}

/** What one run does, in a few lines: algorithm and weights, backends, load, health checks, timeline. */
function scenarioLines(config: RunScenario): string[] {
  const weighted = config.weights.some((w) => w !== 1);
  const lines = [`${config.algo}${weighted ? ` with weights ${config.weights.join(':')}` : ''}, ${config.backends.length} backends: ${config.backends.map((b) => `${b.name} ${formatLatency(b.latency)} cap ${b.capacity}${b.errorRate > 0 ? ` err ${formatPct(b.errorRate)}` : ''}`).join(', ')}`];
  lines.push(`load: ${config.rate !== undefined ? `${config.rate} req/s on a schedule (open model)` : `${config.concurrency} concurrent ${config.concurrency === 1 ? 'worker' : 'workers'}`}${config.requests !== undefined ? `, ${config.requests} requests at most` : ''} for ${formatDuration(config.durationMs)}${config.clients ? `, ${config.clients} virtual clients${config.spreadClients ? ' (one /24 each)' : ''}` : ''}`);
  const h = config.health;
  lines.push(`health checks: ${h.mode} every ${formatDuration(h.intervalMs)}, rise ${h.rise}, fall ${h.fall}${h.fastinterMs !== h.intervalMs ? `, fastinter ${formatDuration(h.fastinterMs)}` : ''}`);
  if (config.passive?.breaker) lines.push(`circuit breaker: ${config.passive.breaker.failures} failures in a row, cool-down ${formatDuration(config.passive.breaker.cooldownMs)}`);
  if (config.retry && config.retry.retries !== 1) lines.push(config.retry.retries === 0 ? 'no retries' : `${config.retry.retries} retries`);
  if (config.events.length > 0) lines.push(`timeline: ${config.events.map(eventWords).join(', ')}`);
  return lines;
}

function eventWords(e: ScheduledEvent): string {
  const at = formatDuration(e.atMs);
  if (e.action === 'algo') return `${at} algo ${e.algo}`;
  if (e.action === 'weight') return `${at} weight ${e.target}=${e.weight}`;
  return `${at} ${e.action} ${e.target}`;
}
