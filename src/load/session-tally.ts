import type { SessionOutcome } from '../backend/sessions.js';
import { noSessions, type SessionCounts, type SessionLoss, type SessionsSummary } from '../metrics/run-record.js';

/** A fault the tally watches: the users it found then, and who lost a session after it. */
type Mark = { atMs: number; type: string; target: string; users?: number[]; usersCount?: number; loggedOut: Set<number> };

/** Adds one `outcome` to `counts`. */
function count(counts: SessionCounts, outcome: SessionOutcome): void {
  if (outcome === 'new') counts.created++;
  else if (outcome === 'found') counts.found++;
  else counts.lost++;
}

/**
 * What became of the users' sessions, from the `x-lblab-session` header of
 * every response the load generator read (the client's view: it outlives a
 * killed backend, whose own counters die with it): counts overall, per
 * backend and per second, and around each fault ({@link mark}) which
 * virtual clients the fault's target served last and which of all the
 * clients were logged out after it.
 *
 * Samples are taken in completion order (one load thread, as `start` runs
 * it; with several, batches interleave by up to a batch interval). A mark
 * set at `atMs` on the main thread comes after every sample that completed
 * before it could arrive, so the users of its target are read when the
 * first sample completed at or after `atMs` is recorded (or at the end).
 */
export class SessionTally {
  readonly totals = noSessions();
  readonly backends = new Map<string, SessionCounts>();
  /** Per second of the run, by completion time. */
  readonly perSecond: SessionCounts[] = [];
  /** Per virtual client (0-based), the backend of its last response that carried a session. */
  private readonly lastBackend = new Map<number, string>();
  private readonly marks: Mark[] = [];
  /** Marks whose users are not read yet, oldest first. */
  private pending: Mark[] = [];

  /** Virtual clients that have had a session so far. */
  get users(): number {
    return this.lastBackend.size;
  }

  /**
   * Counts one response: client `client` (0-based) got `outcome` from
   * `backend` (undefined when no `x-lblab-backend` named it), completed at
   * `atMs` (ms since the run started).
   */
  record(atMs: number, client: number, backend: string | undefined, outcome: SessionOutcome): void {
    while (this.pending.length > 0 && this.pending[0]!.atMs <= atMs) this.readUsers(this.pending.shift()!);
    count(this.totals, outcome);
    if (backend !== undefined) {
      let b = this.backends.get(backend);
      if (!b) this.backends.set(backend, (b = noSessions()));
      count(b, outcome);
      this.lastBackend.set(client, backend);
    }
    const second = Math.max(0, Math.floor(atMs / 1000));
    while (this.perSecond.length <= second) this.perSecond.push(noSessions());
    count(this.perSecond[second]!, outcome);
    if (outcome === 'lost') {
      for (let i = this.marks.length - 1; i >= 0; i--) {
        if (this.marks[i]!.atMs <= atMs) {
          this.marks[i]!.loggedOut.add(client);
          break;
        }
      }
    }
  }

  /**
   * Watches a fault on backend `target` at `atMs` (ms since the run started;
   * not before the last mark): its losses are counted until the next mark.
   */
  mark(atMs: number, type: string, target: string): void {
    const last = this.marks[this.marks.length - 1];
    const m: Mark = { atMs: Math.max(atMs, last?.atMs ?? 0), type, target, loggedOut: new Set() };
    this.marks.push(m);
    this.pending.push(m);
  }

  /** The latest fault's loss so far, or undefined before any fault (what the dashboard shows). */
  lastLoss(): SessionLoss | undefined {
    const m = this.marks[this.marks.length - 1];
    if (!m) return undefined;
    if (this.pending.includes(m)) return this.lossOf({ ...m, usersCount: this.lastBackend.size, users: this.usersOf(m.target) }, 0);
    return this.lossOf(m, 0);
  }

  /**
   * Everything counted, as plain data for the run record; `listed`: with at
   * most this many clients, each loss names its clients.
   */
  summary(listed: number): SessionsSummary {
    for (const m of this.pending.splice(0)) this.readUsers(m);
    return {
      totals: { ...this.totals },
      backends: Object.fromEntries([...this.backends].map(([name, c]) => [name, { ...c }])),
      perSecond: this.perSecond.map((c) => ({ ...c })),
      losses: this.marks.map((m) => this.lossOf(m, listed)),
    };
  }

  private readUsers(m: Mark): void {
    m.usersCount = this.lastBackend.size;
    m.users = this.usersOf(m.target);
  }

  private usersOf(target: string): number[] {
    const out: number[] = [];
    for (const [client, backend] of this.lastBackend) if (backend === target) out.push(client);
    return out.sort((a, b) => a - b);
  }

  private lossOf(m: Mark, listed: number): SessionLoss {
    const users = m.users ?? [];
    const usersCount = m.usersCount ?? 0;
    return {
      atMs: Math.round(m.atMs),
      type: m.type,
      target: m.target,
      users: usersCount,
      targetUsers: users.length,
      loggedOut: m.loggedOut.size,
      ...(usersCount > 0 && usersCount <= listed ? { clients: { target: users.map((c) => c + 1), loggedOut: [...m.loggedOut].sort((a, b) => a - b).map((c) => c + 1) } } : {}),
    };
  }
}
