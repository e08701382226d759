import { connect } from 'node:net';

/**
 * One server row of HAProxy's `show stat` (the CSV of the stats page), the
 * fields lblab reads: `status` (UP, DOWN, "UP 1/3" going down, "DOWN 1/2"
 * coming up, NOLB, DRAIN, MAINT), `scur` (current sessions: in flight),
 * `weight` (the effective weight, below the configured one during
 * slowstart), `check_status` (L4OK, L4CON, L7OK, L7STS, …), `check_code`,
 * `check_desc`, `check_duration` (ms), `chkfail` (failed checks), `lbtot`
 * (times picked), `wretr` and `wredis` (retries and redispatches), and the
 * health counter (`check_health` of `check_rise` + `check_fall` − 1).
 */
export type ServerStat = {
  backend: string;
  server: string;
  status: string;
  scur: number;
  weight: number;
  checkStatus: string;
  checkCode: string;
  checkDesc: string;
  checkDurationMs: number;
  chkfail: number;
  lbtot: number;
  wretr: number;
  wredis: number;
  checkHealth: number;
  checkRise: number;
  checkFall: number;
};

/**
 * Sends one command to HAProxy's stats socket (`show stat`, `set weight
 * lblab/b1 5`, `set server lblab/b1 state drain`) and resolves with its
 * whole answer. Rejects on a socket error or after `timeoutMs` (default 2 s).
 */
export function haproxyCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    s.setEncoding('utf8');
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer from HAProxy's stats socket within ${timeoutMs}ms`)));
    s.on('connect', () => s.end(`${command}\n`));
    s.on('data', (chunk: string) => (out += chunk));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/** The server rows of a `show stat` answer (frontend and backend summary rows left out). */
export function parseShowStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',') ?? [];
  const col = (row: string[], name: string): string => row[header.indexOf(name)] ?? '';
  const num = (row: string[], name: string): number => Number(col(row, name)) || 0;
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((row) => !['FRONTEND', 'BACKEND'].includes(col(row, 'svname')))
    .map((row) => ({
      backend: col(row, 'pxname'),
      server: col(row, 'svname'),
      status: col(row, 'status'),
      scur: num(row, 'scur'),
      weight: num(row, 'weight'),
      checkStatus: col(row, 'check_status').replace(/^\* ?/, ''),
      checkCode: col(row, 'check_code'),
      checkDesc: col(row, 'check_desc'),
      checkDurationMs: num(row, 'check_duration'),
      chkfail: num(row, 'chkfail'),
      lbtot: num(row, 'lbtot'),
      wretr: num(row, 'wretr'),
      wredis: num(row, 'wredis'),
      checkHealth: num(row, 'check_health'),
      checkRise: num(row, 'check_rise'),
      checkFall: num(row, 'check_fall'),
    }));
}
