import { Chalk } from 'chalk';
import { formatLatency } from '../backend/latency.js';
import { formatRateLimit } from '../balancer/rate-limit.js';
import { SAME_REGION_RTT_MS, type GslbConfig } from '../scenario/regions.js';
import { SESSION_MODE_WORDS } from '../backend/sessions.js';
import type { ScheduledEvent } from '../scenario/timeline.js';
import { formatDuration, formatPct } from '../report/format.js';
import { fitTable } from '../report/text-table.js';
import { reportWidth, wrapText } from '../report/text-width.js';
import type { RunScenario } from '../scenario/scenario.js';
import { expectationWords } from './evaluate.js';
import type { Lab } from './lab.js';

/**
 * `lblab lab list`: one row per lab in course order — number, name, title,
 * duration (of all its runs), runs — in lines of at most `width` columns
 * (default 100; titles wrap).
 */
export function renderLabList(labs: readonly Lab[], width?: number): string {
  const c = new Chalk();
  const w = reportWidth(width);
  const lines = fitTable(c, {
    head: ['#', 'name', 'title', 'duration', 'runs'],
    rows: labs.map((lab) => [lab.order === 999 ? '' : String(lab.order), lab.name, lab.title, formatDuration(lab.durationMs), String(lab.runs.length)]),
    align: ['right', 'left', 'left', 'right', 'right'],
    width: w,
  });
  return `${lines.join('\n')}\n\n${wrapText('lblab lab explain NAME tells what a lab teaches; lblab lab run NAME runs it.', w).join('\n')}\n`;
}

/**
 * `lblab lab explain`: the title, what the lab teaches, what each run does,
 * each expectation with its bounds (and the engines it holds on, when not
 * all), and the engines the lab runs on; in lines of at most `width` columns
 * (default 100): the lab's prose is wrapped with wrap-ansi, paragraph by
 * paragraph, and a wrapped item's further lines are indented under it.
 */
export function renderLabExplain(lab: Lab, width?: number): string {
  const c = new Chalk();
  const w = reportWidth(width);
  /** `text` after `indent`, wrapped; its further lines two columns further in. */
  const item = (text: string, indent: string): string[] => wrapText(text, w - indent.length, '  ').map((l) => indent + l);
  const out: string[] = [...wrapText(c.bold(`${lab.name}: ${lab.title}`), w, '  '), '', ...teachingLines(lab.teaches, w), ''];
  for (const run of lab.runs) {
    out.push(c.bold(lab.runs.length > 1 ? `Run ${run.name}` : 'The run'));
    out.push(...scenarioLines(run.config).flatMap((l) => item(l, '  ')));
    out.push('');
  }
  out.push(c.bold('Expected'));
  for (const e of lab.expectations) {
    const words = expectationWords(e, lab.runs.length > 1);
    out.push(...item(`${words.text}: ${words.expected}${e.engines ? c.dim(`  (on ${e.engines.join(', ')})`) : ''}`, '  '));
  }
  out.push('', ...item(`Runs on: ${lab.engines.join(', ')}${lab.engines.length > 1 ? ` (lblab lab run ${lab.name} --engine ${lab.engines.find((e) => e !== 'lblab')})` : ''}`, ''));
  out.push('', ...item(c.dim(`lblab lab run ${lab.name}   (${formatDuration(lab.durationMs)}, ${lab.file})`), ''));
  return out.join('\n') + '\n';
}

/**
 * A lab's `teaches` text in lines of at most `width`: each line of the file
 * is wrapped on its own (wrap-ansi), keeping its leading blanks (a list item
 * or an indented block) as the indent of its further lines.
 */
function teachingLines(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => {
    if (line.trim() === '') return [''];
    const lead = /^\s*(?:[-*] |\d+\. )?/.exec(line)![0];
    const indent = ' '.repeat(lead.length);
    const body = wrapText(line.slice(lead.length), width - lead.length, '').map((l, i) => (i === 0 ? lead : indent) + l);
    return body;
  });
}

/** What one run does, in a few lines: algorithm and weights, backends, load, where sessions live, health checks, timeline. */
function scenarioLines(config: RunScenario): string[] {
  const weighted = config.weights.some((w) => w !== 1);
  const lines = [`${config.algo}${weighted ? ` with weights ${config.weights.join(':')}` : ''}, ${config.backends.length} backends: ${config.backends.map((b) => `${b.name} ${formatLatency(b.latency)} cap ${b.capacity}${b.errorRate > 0 ? ` err ${formatPct(b.errorRate)}` : ''}`).join(', ')}`];
  const ws = config.webSocket;
  const h2 = config.http2Clients;
  const workers = h2 ? `HTTP/2: ${h2.connections} ${h2.connections === 1 ? 'connection' : 'connections'} × ${h2.streams} concurrent streams` : `${config.concurrency} concurrent ${config.concurrency === 1 ? 'worker' : 'workers'}`;
  if (ws) {
    const lifetime = ws.lifetimeMs !== undefined ? `, each reconnecting after ${formatDuration(ws.lifetimeMs)}` : ', each held the whole run';
    lines.push(`load: ${ws.clients} WebSocket clients, ${ws.messageRate} messages a second each${lifetime}, for ${formatDuration(config.durationMs)}`);
  } else lines.push(`load: ${config.rate !== undefined ? `${config.rate} req/s on a schedule (open model)` : workers}${config.requests !== undefined ? `, ${config.requests} requests at most` : ''} for ${formatDuration(config.durationMs)}${config.clients ? `, ${config.clients} virtual clients${config.spreadClients ? ' (one /24 each)' : ''}` : ''}`);
  if (config.clientWeights) lines.push(`client weights ${config.clientWeights.join(':')}: client 1 sends ${formatPct(config.clientWeights[0]! / config.clientWeights.reduce((a, b) => a + b, 0))} of the requests`);
  if (!config.keepAlive) lines.push('no keep-alive: a new connection for every request');
  if (config.headers.length > 0) lines.push(`headers sent: ${config.headers.map((x) => `${x.name}: ${x.value}`).join(', ')}`);
  if (config.proxy === 'forward') lines.push("through lblab's forward proxy, straight to the backends: the clients choose, each request to the next backend (the balancer takes none)");
  if (config.sessions) lines.push(`sessions ${SESSION_MODE_WORDS[config.sessions]}`);
  const h = config.health;
  lines.push(`health checks: ${h.mode} every ${formatDuration(h.intervalMs)}, rise ${h.rise}, fall ${h.fall}${h.fastinterMs !== h.intervalMs ? `, fastinter ${formatDuration(h.fastinterMs)}` : ''}`);
  const balancer = [
    config.mode === 'tcp' ? 'L4 (tcp mode)' : '',
    config.tls ? 'TLS to clients' : '',
    config.http2 ? 'HTTP/2 to clients, each stream balanced on its own' : '',
    config.gslb
      ? `GSLB ${config.gslb.policy} over regions ${config.gslb.regions.map((r, i) => `${r.name}=${r.backends.join(',')} (${formatPct(config.gslb!.clientShares[i]!, 0)} of the clients)`).join(', ')}; RTT ${gslbRtts(config.gslb)}`
      : config.routing
        ? `routes ${config.routing.routes.length}, pools ${config.routing.pools.map((p) => `${p.name}=${p.backends.join(',')}`).join(' ')}`
        : '',
    config.rateLimit ? `rate limit ${formatRateLimit(config.rateLimit)} per client IP` : '',
    config.sticky ? `sticky ${config.sticky.mode}` : '',
    config.backups.length > 0 ? `backup ${config.backups.join(', ')}` : '',
    config.slowStartMs > 0 ? `slow start ${formatDuration(config.slowStartMs)}` : '',
    config.panicThreshold > 0 ? `panic threshold ${config.panicThreshold}%` : '',
    config.onMarkedDown ? `on-marked-down ${config.onMarkedDown}` : '',
  ].filter((x) => x !== '');
  if (balancer.length > 0) lines.push(`balancer: ${balancer.join(', ')}`);
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

/** The round trips between regions in words: `us-eu 40ms` (the same-region ones only when not the default). */
function gslbRtts(g: GslbConfig): string {
  const out: string[] = [];
  for (let a = 0; a < g.regions.length; a++) {
    for (let b = a; b < g.regions.length; b++) {
      if (a === b && g.rttMs[a]![b] === SAME_REGION_RTT_MS) continue;
      out.push(`${g.regions[a]!.name}-${g.regions[b]!.name} ${formatDuration(g.rttMs[a]![b]!)}`);
    }
  }
  return out.join(', ');
}
