import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCli, runCliToEnd, tagsAfterEach, listeningPort } from '../support/cli.js';

const tags = tagsAfterEach();

describe('virtual clients from the command line', () => {
  it('lblab load --clients 3 --header "x-user=u{client}" against a real backend', async () => {
    const backend = runCli(['backend', '--port', '0', '--name', 'solo', '--latency', '1ms']);
    tags.push(backend.tag);
    const port = await listeningPort(backend);
    const r = await runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--clients', '3', '--header', 'x-user=u{client}', '--duration', '1s', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config).toMatchObject({ command: 'load', clients: 3 });
    expect(record.totals.requests).toBeGreaterThan(50);
    expect(record.totals.errors).toBe(0);
    expect(record.backends[0]).toMatchObject({ name: 'solo', requests: record.totals.requests });
    backend.child.kill('SIGTERM');
    expect(await backend.exit).toBe(0);
  });

  it('lblab start --clients 4 --spread-clients --header … runs through the balancer', async () => {
    const r = await runCliToEnd(['start', '--backends', '2', '--clients', '4', '--spread-clients', '--header', 'x-req={seq}', '--requests', '40', '--concurrency', '4', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config).toMatchObject({ command: 'start', clients: 4 });
    expect(record.totals.requests).toBe(40);
    expect(record.totals.errors).toBe(0);
    // Four clients sharing four workers take turns: each sends its quarter.
    expect(record.clients?.each?.map((c) => c.requests)).toEqual([10, 10, 10, 10]);
  });

  it('without --clients the record says nothing about clients', async () => {
    const r = await runCliToEnd(['start', '--backends', '1', '--duration', '1s', '--concurrency', '2', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunRecord).config).not.toHaveProperty('clients');
  });
});
