import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCli, runCliToEnd, taggedProcesses, tagsAfterEach, waitForNoProcesses } from '../support/cli.js';

/**
 * User sessions (issue 15): real backends keep sessions in memory, in one
 * real redis-server, or in signed tokens; 40 virtual clients with their own
 * cookie jars; b2 SIGKILLed mid-run. Memory behind a sticky cookie logs out
 * exactly b2's users; shared and token log out nobody; the redis-server
 * child ends with lblab, SIGKILL included. .ci/run installs redis-server.
 */

const tags = tagsAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'lblab-sessions-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 3 backends, random picks, 40 clients, b2 killed at 2 s of 5 s: the record on stdout. */
const RUN = ['start', '--backends', '3', '--algo', 'random', '--clients', '40', '--concurrency', '8', '--event', '2s kill b2', '--duration', '5s', '--headless', '--json'];

/**
 * The redis-server children of `tag`'s processes (their keeper): redis-server
 * writes its process title over its environment, so the tag is not in its
 * /proc environ; its parent is tagged.
 */
function redisOf(tag: string): number[] {
  const tagged = new Set(taggedProcesses(tag));
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1] === 'redis-server' && m[2] !== 'Z' && tagged.has(Number(m[3]))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Waits up to 8 s for `pids` to end and returns those still alive, SIGKILLed so a failed test leaves none behind. */
async function stillAlive(pids: number[]): Promise<number[]> {
  const alive = (): number[] => pids.filter((pid) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1')));
  await vi.waitFor(() => expect(alive()).toEqual([]), { timeout: 8000, interval: 100 }).catch(() => undefined);
  const left = alive();
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left;
}

describe('sessions around a killed backend (40 clients, kill b2)', () => {
  it('memory + sticky cookie: the kill logs out exactly the clients b2 served last, nobody before it', async () => {
    const r = await runCliToEnd([...RUN, '--sessions', 'memory', '--sticky', 'cookie']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const loss = record.sessionLosses?.find((l) => l.type === 'kill' && l.target === 'b2');
    expect(loss, JSON.stringify(record.sessionLosses)).toBeDefined();
    expect(loss!.users).toBe(40);
    // With three backends b2 holds about a third of the users; at least a few, never all.
    expect(loss!.targetUsers).toBeGreaterThanOrEqual(4);
    expect(loss!.targetUsers).toBeLessThanOrEqual(28);
    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    expect(sorted(loss!.clients!.loggedOut)).toEqual(sorted(loss!.clients!.target));
    expect(record.totals.sessions).toBeDefined();
    // A lost session is a new login in the same response: created counts the first logins only.
    expect(record.totals.sessions!.created).toBe(40);
    expect(record.totals.sessions!.lost).toBe(loss!.targetUsers);
    // The clients' tally per backend adds up to the totals.
    const perBackend = record.backends.reduce((sum, b) => sum + (b.sessions?.lost ?? 0), 0);
    expect(perBackend).toBe(record.totals.sessions!.lost);
    expect(record.totals.errors).toBe(0);
  });

  it('memory without stickiness loses sessions before any kill; shared (one redis-server, ended with the run) and token lose none', async () => {
    const memory = await runCliToEnd([...RUN, '--sessions', 'memory']);
    tags.push(memory.tag);
    expect(memory.code, memory.stderr).toBe(0);
    const m = JSON.parse(memory.stdout) as RunRecord;
    const beforeKill = m.timeline.filter((p) => p.atMs <= 2000).reduce((sum, p) => sum + (p.sessions?.lost ?? 0), 0);
    expect(beforeKill).toBeGreaterThan(0);
    // Random picks over three: a request lands elsewhere about 2 times in 3.
    expect(m.totals.sessions!.lost / (m.totals.sessions!.found + m.totals.sessions!.lost)).toBeGreaterThan(0.4);

    const shared = runCli([...RUN, '--sessions', 'shared']);
    tags.push(shared.tag);
    await shared.waitFor(/req\/s/, 20_000);
    const redis = redisOf(shared.tag);
    try {
      expect(redis, 'a redis-server runs for the shared run').toHaveLength(1);
      expect(await shared.exit, shared.stderr()).toBe(0);
      expect(await stillAlive(redis), 'redis-server ended with the run').toEqual([]);
      expect(await waitForNoProcesses(shared.tag, 8000)).toEqual([]);
    } finally {
      shared.child.kill('SIGKILL');
      await stillAlive(redis);
    }
    const token = await runCliToEnd([...RUN, '--sessions', 'token']);
    tags.push(token.tag);
    expect(token.code, token.stderr).toBe(0);
    for (const [mode, out] of [['shared', shared.stdout()], ['token', token.stdout]] as const) {
      const record = JSON.parse(out) as RunRecord;
      expect(record.config.sessions, mode).toBe(mode);
      expect(record.totals.sessions!.lost, mode).toBe(0);
      expect(record.totals.sessions!.created, mode).toBe(40);
      expect(record.totals.sessions!.found, mode).toBeGreaterThan(100);
      const loss = record.sessionLosses?.find((l) => l.type === 'kill' && l.target === 'b2');
      expect(loss?.loggedOut, mode).toBe(0);
      expect(loss!.targetUsers, mode).toBeGreaterThan(0);
    }
  }, 90_000);

  it('a SIGKILLed lblab leaves no redis-server behind', async () => {
    const run = runCli(['start', '--backends', '2', '--sessions', 'shared', '--clients', '4', '--concurrency', '2', '--duration', '30s', '--headless']);
    tags.push(run.tag);
    await run.waitFor(/req\/s/, 20_000);
    const redis = redisOf(run.tag);
    try {
      expect(redis).toHaveLength(1);
      run.child.kill('SIGKILL');
      await run.exit;
      expect(await stillAlive(redis), 'redis-server after a SIGKILL of lblab').toEqual([]);
      expect(await waitForNoProcesses(run.tag, 8000)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
      await stillAlive(redis);
    }
  });
});

describe('bad --sessions input', () => {
  it('--sessions shared without redis-server on PATH exits 2 in one line saying how to install it, nothing started', async () => {
    const r = await runCliToEnd(['start', '--backends', '2', '--sessions', 'shared', '--headless', '--duration', '2s'], 20_000, { PATH: '/nonexistent' });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/^lblab: `--sessions shared` needs the redis-server program, not found on PATH: apt-get install redis-server$/);
    expect(r.stdout).toBe('');
  });

  it('--sessions bogus exits 2 in one line naming the flag and the modes', async () => {
    const r = await runCliToEnd(['start', '--sessions', 'bogus', '--headless', '--duration', '2s']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/`--sessions`.*memory.*shared.*token.*bogus/);
  });
});

describe('a lab judged on sessions', () => {
  it('a sessions expectation fails (exit 3, ✗ with the measured loss) when memory sessions run without stickiness', async () => {
    const file = join(dir, 'sessions-wrong.yaml');
    writeFileSync(
      file,
      `title: Memory sessions without stickiness
teaches: Claims memory sessions survive random picks; they cannot, so this lab must fail.
backends: 3
algo: random
sessions: memory
load: { concurrency: 4, clients: 12, duration: 2s }
expect:
  - sessions: { of: lost, max: 0 }
  - sessions: { of: created, min: 12 }
`,
    );
    const r = await runCliToEnd(['lab', 'run', file]);
    tags.push(r.tag);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stdout).toMatch(/FAILED 1 of 2$/m);
    expect(r.stdout).toMatch(/^ {2}✗ {2}sessions lost\s+≤ 0\s+[1-9]\d* of \d+ responses with a session$/m);
    expect(r.stdout).toMatch(/^ {2}✓ {2}sessions created \(logins\)/m);
  });
});
