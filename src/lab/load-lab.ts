import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { formatFieldPath, UsageError } from '../errors.js';
import { FieldError, fieldLine } from '../scenario/field-error.js';
import type { ScenarioInput } from '../scenario/input.js';
import { resolveScenario } from '../scenario/resolve.js';
import type { RunScenario } from '../scenario/scenario.js';
import { parseDuration } from '../scenario/values.js';
import { visibleText } from '../report/visible-text.js';
import { ENGINES } from '../engines/engines.js';
import type { ClientMeasure, CompareMetric, ConnectionMeasure, Expectation, ExpectationOfKind, Lab, LabRun, SessionMeasure, WebSocketMeasure, WindowStart } from './lab.js';
import { EXPECTATION_ENGINES, EXPECTATION_KINDS, EXPECTATION_SCHEMAS, FAILOVER_MEASURES, labFileSchema, type ExpectationKind, type LabFile, type LabRunFile } from './lab-schema.js';

/** The extensions a lab file may have. */
export const LAB_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/**
 * Reads a lab file (YAML, or JSON — which YAML reads too) and checks it:
 * first its shape (zod), then its scenario with `resolveScenario`, as
 * `lblab start` resolves its flags, so a lab accepts exactly what the
 * command line does.
 * `shownAs` is the path used in messages (default `file`). The lab's name
 * is the file name without its extension.
 * @throws {UsageError} with one line `<file>: <field path>: expected …, got …`
 * (e.g. `labs/x.yaml: expect[2].share.within: expected a number ≤ 1, got 3`).
 */
export async function loadLabFile(file: string, shownAs = file): Promise<Lab> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${shownAs}: cannot read the lab file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseLab(text, shownAs);
}

/**
 * Parses and checks a lab from its text; `file` names it in messages and
 * gives the lab its name. See {@link loadLabFile}.
 * @throws {UsageError} naming the file and the field path.
 */
export function parseLab(text: string, file: string): Lab {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file}: expected YAML or JSON, but it does not parse: ${(err as Error).message.split('\n')[0]!.replace(/:$/, '')}`);
  }
  const parsed = labFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new UsageError(`${file}: ${describeIssue(parsed.error.issues[0]!)}`);
  return new LabReader(file, parsed.data).read();
}

class LabReader {
  constructor(
    private readonly file: string,
    private readonly lab: LabFile,
  ) {}

  read(): Lab {
    const { lab, file } = this;
    const name = basename(file, extname(file));
    const backendCount = typeof lab.backends === 'number' ? lab.backends : lab.backends.length;
    const names = Array.from({ length: backendCount }, (_, i) => `b${i + 1}`);
    const runFiles: Array<{ path: string; run: LabRunFile | undefined }> = lab.runs ? lab.runs.map((r, i) => ({ path: `runs[${i}]`, run: r })) : [{ path: '', run: undefined }];
    const runs: LabRun[] = runFiles.map(({ path, run }) => this.readRun(path, run));
    const dup = runs.find((r, i) => runs.findIndex((x) => x.name === r.name) !== i);
    if (dup) this.fail(`runs[${runs.lastIndexOf(dup)}].name`, `expected every run name once, got ${JSON.stringify(dup.name)} twice`);
    const expectations = lab.expect.map((raw, i) => this.readEngines(`expect[${i}]`, raw, runs, names));
    return {
      name,
      file,
      order: lab.order ?? 999,
      // Shown in a terminal (lab list, explain, the verdict): a shared lab file's text is shown, never obeyed.
      title: visibleText(lab.title.trim()),
      teaches: visibleText(lab.teaches.trim(), true),
      durationMs: runs.reduce((sum, r) => sum + r.config.durationMs, 0),
      runs,
      expectations,
      engines: lab.engines ? [...new Set(lab.engines)] : [...ENGINES],
    };
  }

  /** An `expect` entry: its kind (see `expectation`) and the `engines` it holds on, if it names them. */
  private readEngines(path: string, raw: Record<string, unknown>, runs: LabRun[], names: string[]): Expectation {
    const { engines, ...rest } = raw;
    const e = this.expectation(path, rest, runs, names);
    if (engines === undefined) return e;
    const parsed = EXPECTATION_ENGINES.safeParse(engines, { reportInput: true });
    if (!parsed.success) throw new UsageError(`${this.file}: ${describeIssue(parsed.error.issues[0]!, `${path}.engines`)}`);
    return { ...e, engines: [...new Set(parsed.data)] };
  }

  /**
   * One run's scenario: the lab's, with what the run changes laid over it
   * field by field, resolved as `lblab start` resolves its flags. A field
   * the run gave is named in messages by the run's path (`runs[1].algo`).
   */
  private readRun(runPath: string, run: LabRunFile | undefined): LabRun {
    const { lab } = this;
    const input: ScenarioInput = {
      backends: lab.backends,
      algo: run?.algo ?? lab.algo,
      weights: run?.weights ?? lab.weights,
      'hash-key': run?.['hash-key'] ?? lab['hash-key'],
      health: { ...lab.health, ...run?.health },
      balancer: { ...lab.balancer, ...run?.balancer },
      load: { ...lab.load, ...run?.load },
      timeline: run?.timeline ?? lab.timeline ?? [],
      ...(lab.regions ? { regions: lab.regions } : {}),
      ...(lab.rtt ? { rtt: lab.rtt } : {}),
      ...((run?.gslb ?? lab.gslb) ? { gslb: run?.gslb ?? lab.gslb } : {}),
      sessions: run?.sessions ?? lab.sessions,
      balancers: run?.balancers ?? lab.balancers,
      ha: run?.ha ?? lab.ha,
      'ha-interval': run?.['ha-interval'] ?? lab['ha-interval'],
    };
    const fromRun = (path: string): boolean => {
      if (!run) return false;
      const [section, field] = path.replace(/\[\d+\].*$/, '').split('.') as [keyof LabRunFile, string | undefined];
      const value = run[section];
      return value !== undefined && (field === undefined || (value as Record<string, unknown>)[field] !== undefined);
    };
    const scenario = this.check(() => resolveScenario(input, { name: (path) => (runPath && fromRun(path) ? `${runPath}.${path}` : path) }));
    const config: RunScenario = { ...scenario, durationMs: scenario.durationMs! };
    const removal = config.events.find((e) => e.action === 'remove');
    return {
      name: run?.name ?? config.algo,
      config,
      ...(removal && 'target' in removal ? { removal: { target: removal.target, atMs: removal.atMs } } : {}),
    };
  }

  private expectation(path: string, raw: Record<string, unknown>, runs: LabRun[], names: string[]): ExpectationOfKind {
    const keys = Object.keys(raw);
    if (keys.length !== 1 || !(EXPECTATION_KINDS as readonly string[]).includes(keys[0]!)) {
      const got = keys.length === 0 ? 'nothing' : keys.join(', ');
      this.fail(path, `expected one expectation, one of ${EXPECTATION_KINDS.join(', ')}, got ${got}`);
    }
    const kind = keys[0] as ExpectationKind;
    const p = `${path}.${kind}`;
    const result = (EXPECTATION_SCHEMAS[kind] as z.ZodType).safeParse(raw[kind], { reportInput: true });
    if (!result.success) throw new UsageError(`${this.file}: ${describeIssue(result.error.issues[0]!, p)}`);
    const v = result.data as Record<string, unknown>;
    const runNames = runs.map((r) => r.name);
    const runOf = (field = 'run'): LabRun => {
      const wanted = v[field] as string | undefined;
      if (wanted === undefined) {
        if (runs.length > 1) this.fail(`${p}.${field}`, `expected the run it is about, one of ${runNames.join(', ')} (this lab has several runs), got nothing`);
        return runs[0]!;
      }
      const found = runs.find((r) => r.name === wanted);
      if (!found) this.fail(`${p}.${field}`, `expected a run of this lab, one of ${runNames.join(', ')}, got ${JSON.stringify(wanted)}`);
      return found;
    };
    const backend = (field: string, value = v[field] as string): string => {
      if (!names.includes(value)) this.fail(`${p}.${field}`, `expected a backend, one of ${names.join(', ')}, got ${JSON.stringify(value)}`);
      return value;
    };
    const ms = (field: string): number | undefined => (v[field] === undefined ? undefined : this.check(() => parseDuration(`${p}.${field}`, v[field] as string, { allowZero: true })));
    const bounds = (lo: string, hi: string): void => {
      if (v[lo] === undefined && v[hi] === undefined) this.fail(p, `expected ${lo} or ${hi} (or both), got neither`);
    };
    const from = (): WindowStart | undefined => {
      if (v.after === undefined) {
        if (v.grace !== undefined) this.fail(`${p}.grace`, 'expected grace only with after');
        if (v.for !== undefined) this.fail(`${p}.for`, 'expected for only with after');
        return undefined;
      }
      const after = String(v.after).trim();
      const graceMs = ms('grace') ?? 0;
      const forMs = v.for === undefined ? undefined : this.check(() => parseDuration(`${p}.for`, v.for as string));
      const span = { graceMs, ...(forMs !== undefined ? { forMs } : {}) };
      if (/^\d/.test(after)) return { kind: 'time', atMs: this.check(() => parseDuration(`${p}.after`, after, { allowZero: true })), ...span };
      const [type, target, ...rest] = after.split(/\s+/);
      if (rest.length > 0 || !type) this.fail(`${p}.after`, `expected a time like 5s or an event like "kill b2", got ${JSON.stringify(after)}`);
      // An event of a balancer of the pair (kill lb1, takeover lb2) is one of the run's events too.
      const balancers = runs.flatMap((r) => r.config.ha?.balancers.map((b) => b.name) ?? []);
      if (target !== undefined && !balancers.includes(target)) backend('after', target);
      return { kind: 'event', type, ...(target !== undefined ? { target } : {}), ...span };
    };
    switch (kind) {
      case 'share': {
        const start = from();
        return { kind, run: runOf().name, backend: backend('backend'), is: v.is as number, within: v.within as number, ...(start ? { from: start } : {}) };
      }
      case 'max-share-deviation':
        return { kind, run: runOf().name, max: v.max as number };
      case 'detected': {
        const withinMs = ms('within')!;
        const atLeastMs = ms('at-least');
        if (atLeastMs !== undefined && atLeastMs > withinMs) this.fail(`${p}.at-least`, `expected at most within (${v.within as string}), got ${v['at-least'] as string}`);
        return {
          kind,
          run: runOf().name,
          backend: backend('backend'),
          fault: (v.fault as string | undefined) ?? 'kill',
          ...(v.by !== undefined ? { by: v.by as 'down' | 'ejected' | 'breaker-open' } : {}),
          withinMs,
          ...(atLeastMs !== undefined ? { atLeastMs } : {}),
        };
      }
      case 'error-rate': {
        bounds('min', 'max');
        const start = from();
        return {
          kind,
          run: runOf().name,
          ...(v.max !== undefined ? { max: v.max as number } : {}),
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(start ? { from: start } : {}),
        };
      }
      case 'latency': {
        bounds('min', 'max');
        const maxMs = ms('max');
        const minMs = ms('min');
        return {
          kind,
          run: runOf().name,
          of: v.of as 'p50',
          ...(maxMs !== undefined ? { maxMs } : {}),
          ...(minMs !== undefined ? { minMs } : {}),
          ...(v.backend !== undefined ? { backend: backend('backend') } : {}),
        };
      }
      case 'largest-share':
        bounds('min', 'max');
        return { kind, run: runOf().name, ...(v.min !== undefined ? { min: v.min as number } : {}), ...(v.max !== undefined ? { max: v.max as number } : {}) };
      case 'stickiness':
        return { kind, run: runOf().name, min: v.min as number };
      case 'backends-per-client':
        return { kind, run: runOf().name, max: v.max as number };
      case 'sequence': {
        const startsWith = v['starts-with'] as string[] | undefined;
        const cycle = v.cycle as string[] | undefined;
        if ((startsWith === undefined) === (cycle === undefined)) this.fail(p, 'expected one of starts-with or cycle');
        (startsWith ?? cycle)!.forEach((b, i) => backend(`${startsWith ? 'starts-with' : 'cycle'}[${i}]`, b));
        if (startsWith && v.count !== undefined) this.fail(`${p}.count`, 'expected count only with cycle');
        return { kind, run: runOf().name, ...(startsWith ? { startsWith } : { cycle: cycle! }), count: startsWith ? startsWith.length : ((v.count as number | undefined) ?? cycle!.length * 3) };
      }
      case 'requests': {
        bounds('min', 'max');
        const start = from();
        return {
          kind,
          run: runOf().name,
          backend: backend('backend'),
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
          ...(start ? { from: start } : {}),
        };
      }
      case 'requests-spread':
        return { kind, run: runOf().name, max: v.max as number };
      case 'keys-moved':
      case 'keys-moved-from-kept': {
        bounds('min', 'max');
        const run = runOf();
        if (!run.removal) this.fail(p, `expected a run that removes a backend (timeline: {at: …, remove: bN}); run ${run.name} removes none`);
        return { kind, run: run.name, ...(v.min !== undefined ? { min: v.min as number } : {}), ...(v.max !== undefined ? { max: v.max as number } : {}) };
      }
      case 'upstream-connections': {
        bounds('min', 'max');
        const run = runOf();
        if (run.config.mode === 'tcp') this.fail(p, `expected a run in http mode (the L4 balancer keeps no connection pools); run ${run.name} is tcp`);
        return {
          kind,
          run: run.name,
          backend: backend('backend'),
          of: v.of as ConnectionMeasure,
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
        };
      }
      case 'websockets': {
        bounds('min', 'max');
        const run = runOf();
        if (!run.config.webSocket) this.fail(p, `expected a run with WebSocket clients (load: { protocol: ws }); run ${run.name} sends HTTP requests`);
        if (v.of === 'open-share' && v.backend === undefined) this.fail(`${p}.backend`, 'expected the backend whose share of the open WebSockets is judged, got none');
        if (v.of === 'lost' && v.backend !== undefined) this.fail(`${p}.backend`, 'expected no backend: lost messages are counted over the run');
        return {
          kind,
          run: run.name,
          of: v.of as WebSocketMeasure,
          ...(v.backend !== undefined ? { backend: backend('backend') } : {}),
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
        };
      }
      case 'handshakes': {
        bounds('min', 'max');
        const run = runOf();
        if (!run.config.tls) this.fail(p, `expected a run that serves TLS (balancer: { tls: true }); run ${run.name} does not`);
        return { kind, run: run.name, ...(v.min !== undefined ? { min: v.min as number } : {}), ...(v.max !== undefined ? { max: v.max as number } : {}) };
      }
      case 'failover': {
        bounds('min', 'max');
        const run = runOf();
        if (!run.config.ha) this.fail(p, `expected a run with two balancers (balancers: 2); run ${run.name} has one`);
        if (!run.config.events.some((e) => e.action === 'kill' && run.config.ha!.balancers.some((b) => b.name === e.target))) {
          this.fail(p, `expected a run whose timeline kills a balancer (e.g. { at: 3s, kill: lb1 }); run ${run.name} kills none`);
        }
        return { kind, run: run.name, of: v.of as (typeof FAILOVER_MEASURES)[number], ...(v.min !== undefined ? { min: v.min as number } : {}), ...(v.max !== undefined ? { max: v.max as number } : {}) };
      }
      case 'client-region': {
        bounds('min', 'max');
        const run = runOf();
        const regions = run.config.gslb?.regions.map((r) => r.name);
        if (!regions) this.fail(p, `expected a run with regions (regions: { us: [b1], eu: [b2] }); run ${run.name} has none`);
        if (!regions.includes(v.region as string)) this.fail(`${p}.region`, `expected one of the run's regions (${regions.join(', ')}), got ${JSON.stringify(v.region)}`);
        return {
          kind,
          run: run.name,
          region: v.region as string,
          of: v.of as 'remote-share' | 'error-rate' | 'rtt-paid',
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
        };
      }
      case 'client-rate': {
        bounds('min', 'max');
        if ((v.client === undefined) === (v.except === undefined)) this.fail(p, 'expected one of client (that client) or except (every client but that one)');
        const run = runOf();
        const clients = run.config.clients;
        const which = (v.client ?? v.except) as number;
        const field = v.client !== undefined ? 'client' : 'except';
        if (clients === undefined) this.fail(`${p}.${field}`, `expected a run with virtual clients (load.clients); run ${run.name} has none`);
        if (which > clients) this.fail(`${p}.${field}`, `expected a virtual client 1…${clients}, got ${which}`);
        return {
          kind,
          run: run.name,
          ...(v.client !== undefined ? { client: v.client as number } : { except: v.except as number }),
          of: v.of as ClientMeasure,
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
        };
      }
      case 'sessions': {
        bounds('min', 'max');
        const run = runOf();
        if (!run.config.sessions) this.fail(p, `expected a run whose backends keep sessions (sessions: memory, shared or token); run ${run.name} keeps none`);
        const of = v.of as SessionMeasure;
        const start = from();
        const perFault = of === 'logged-out' || of === 'logged-out-elsewhere';
        if (perFault && start?.kind !== 'event') this.fail(`${p}.after`, `expected the fault whose logged-out users to count, like "kill b2", with of: ${of}`);
        if (perFault && (start!.graceMs > 0 || start!.forMs !== undefined)) this.fail(p, `expected no grace or for with of: ${of} (it counts until the next fault)`);
        if (of === 'lost-share' && v.max !== undefined && (v.max as number) > 1) this.fail(`${p}.max`, `expected a share ≤ 1, got ${v.max as number}`);
        return {
          kind,
          run: run.name,
          of,
          ...(v.min !== undefined ? { min: v.min as number } : {}),
          ...(v.max !== undefined ? { max: v.max as number } : {}),
          ...(start ? { from: start } : {}),
        };
      }
      case 'seen-by-backends': {
        const run = runOf().name;
        const given = (['present', 'distinct', 'peers'] as const).filter((f) => v[f] !== undefined);
        if (given.length !== 1) this.fail(p, `expected one of present, distinct or peers, got ${given.length === 0 ? 'none' : given.join(' and ')}`);
        const of = given[0]!;
        const header = v.header === undefined ? undefined : (v.header as string).toLowerCase();
        if (of === 'peers') {
          if (header !== undefined) this.fail(`${p}.header`, 'expected no header with peers (peer addresses are not a header)');
        } else if (header === undefined) this.fail(`${p}.header`, `expected the header ${of} is about, got nothing`);
        if (of === 'present') return { kind, run, of, header: header!, present: v.present as boolean };
        const b = v[of] as { min?: number; max?: number };
        if (b.min === undefined && b.max === undefined) this.fail(`${p}.${of}`, 'expected min or max (or both), got neither');
        const range = { ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}) };
        return of === 'peers' ? { kind, run, of, ...range } : { kind, run, of, header: header!, ...range };
      }
      case 'compare': {
        const run = runOf();
        if ((v.below === undefined) === (v.above === undefined)) this.fail(p, 'expected one of below or above (the run to compare with)');
        const direction = v.below !== undefined ? 'below' : 'above';
        const than = runOf(direction);
        if (than.name === run.name) this.fail(`${p}.${direction}`, `expected another run than ${run.name}`);
        const metric = v.metric as CompareMetric;
        if (metric === 'share' && v.backend === undefined) this.fail(`${p}.backend`, 'expected the backend whose share to compare, got nothing');
        if (metric !== 'share' && v.backend !== undefined) this.fail(`${p}.backend`, 'expected backend only with metric share');
        if (metric === 'keys-moved' && (!run.removal || !than.removal)) this.fail(p, 'expected keys-moved only between runs that remove a backend');
        return {
          kind,
          run: run.name,
          than: than.name,
          metric,
          direction,
          by: (v.by as number | undefined) ?? 1,
          ...(v.backend !== undefined ? { backend: backend('backend') } : {}),
        };
      }
    }
  }

  /** Runs a scenario parser; its error becomes one line naming this file and the field (`labs/x.yaml: health.interval: expected …`). */
  private check<T>(parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof FieldError) throw new UsageError(`${this.file}: ${fieldLine(err)}`);
      if (err instanceof UsageError) throw new UsageError(`${this.file}: ${err.message}`);
      throw err;
    }
  }

  private fail(path: string, what: string): never {
    throw new UsageError(`${this.file}: ${path}: ${what}`);
  }
}

/** One zod issue as `path: expected …, got …`; `prefix` is the path of the value zod checked. */
function describeIssue(issue: z.core.$ZodIssue, prefix = ''): string {
  const path = formatFieldPath(prefix, issue.path);
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? 'nothing' : JSON.stringify(input);
  switch (issue.code) {
    case 'invalid_type':
      return `${path}: expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${got}`;
    case 'too_small':
    case 'too_big': {
      const sign = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'array') return `${path}: expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(limit)} entries, got ${Array.isArray(input) ? input.length : got}`;
      if (issue.origin === 'string') return `${path}: expected a non-empty text, got ${got}`;
      return `${path}: expected a number ${sign} ${String(limit)}, got ${got}`;
    }
    case 'invalid_value':
      return `${path}: expected one of ${issue.values.map((x) => String(x)).join(', ')}, got ${got}`;
    case 'unrecognized_keys':
      return `${formatFieldPath(prefix, [...issue.path, issue.keys[0]!])}: expected no such field (unknown field)`;
    case 'invalid_union':
      return `${path}: expected ${UNION_WORDS[String(issue.path[issue.path.length - 1])] ?? 'another form'}, got ${got}`;
    case 'invalid_format':
      return `${path}: expected ${issue.message}, got ${got}`;
    default:
      return `${path}: expected ${issue.message.replace(/^Invalid input: expected /, '')}, got ${got}`;
  }
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a text (durations are written with a unit, like 5s)',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of fields',
  record: 'a mapping of fields',
};

const UNION_WORDS: Record<string, string> = {
  backends: 'a number of backends or a list of backend profiles ({latency, capacity, error-rate})',
};

