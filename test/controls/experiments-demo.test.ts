/**
 * The demo a newcomer sees: `bulwark serve --demo` (what `npm start` runs) as a child process
 * starts the demo shop on loopback, applies the demo experiments and runs them; within a minute
 * the API lists runs that ended prevented, detected and missed. The demo's source token is
 * minted once, kept in the data directory, reused after a restart and never logged.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

describe('npm start: serve --demo', () => {
  let dir: TmpDir;
  let server: RunningServer | undefined;
  let token: string;
  let startedAt: number;

  beforeAll(async () => {
    dir = await tmpDir('bulwark-demo-');
    startedAt = Date.now();
    server = await startServer({ dir: dir.path, extraArgs: ['--demo'], expectToken: true, logLevel: 'info' });
    token = server.token!;
  });

  afterAll(async () => {
    await server?.stop();
    await killAllChildren();
    await dir?.cleanup();
  });

  it('shows prevented, detected and missed runs within a minute of the start', { timeout: 90_000 }, async () => {
    const wanted = ['prevented', 'detected', 'missed'];
    let outcomes = new Map<string, string>();
    for (;;) {
      const res = await api(server!, 'GET', '/v1/runs?limit=100', { token });
      expect(res.status).toBe(200);
      outcomes = new Map(res.body.runs.filter((r: any) => r.outcome).map((r: any) => [r.outcome, r.experiment]));
      if (wanted.every((o) => outcomes.has(o))) break;
      if (Date.now() - startedAt > 60_000)
        throw new Error(`after 60 s the runs are ${JSON.stringify(res.body.runs)}\n${server!.stderr().slice(-3000)}`);
      await sleep(500);
    }
    console.log(`[demo] prevented, detected and missed seen ${Date.now() - startedAt} ms after the start`);
    expect(Object.fromEntries(outcomes)).toMatchObject({
      prevented: 'sqli-products',
      detected: 'admin-without-auth',
      missed: 'login-brute-force',
    });

    const list = await api(server!, 'GET', '/v1/experiments', { token });
    expect(list.body.experiments.map((e: any) => e.name)).toEqual(['admin-without-auth', 'login-brute-force', 'sqli-products']);
    for (const e of list.body.experiments) expect(e.schedule).toEqual({ cron: '* * * * *', jitter: '5s' });
    // The terminal says where the demo shop is.
    expect(server!.stderr()).toMatch(/Demo: a shop with switchable controls is running at http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('keeps its source token out of the logs and reuses it after a restart', { timeout: 60_000 }, async () => {
    const kept = (await readFile(path.join(dir.path, 'demo-shop.token'), 'utf8')).trim();
    expect(kept).toMatch(/^bwk_/);
    expect(server!.stdout()).not.toContain(kept);
    expect(server!.stderr()).not.toContain(kept);
    const tokens = async () => (await api(server!, 'GET', '/v1/tokens', { token })).body.tokens.filter((t: any) => t.name === 'demo-shop');
    expect(await tokens()).toHaveLength(1);

    const earlier = new Set(
      (await api(server!, 'GET', '/v1/runs?experiment=sqli-products&limit=100', { token })).body.runs.map((r: any) => r.id),
    );
    expect((await server!.stop()).code).toBe(0);
    server = await startServer({ dir: dir.path, extraArgs: ['--demo'], logLevel: 'info' });
    expect(await tokens()).toHaveLength(1);
    expect((await readFile(path.join(dir.path, 'demo-shop.token'), 'utf8')).trim()).toBe(kept);
    // The restart runs the demo again, against the new demo shop.
    const before = Date.now();
    for (;;) {
      const runs = (await api(server, 'GET', '/v1/runs?experiment=sqli-products&limit=5', { token })).body.runs;
      if (runs.some((r: any) => !earlier.has(r.id) && r.outcome === 'prevented')) break;
      if (Date.now() - before > 30_000) throw new Error(`no new prevented run after the restart: ${JSON.stringify(runs)}`);
      await sleep(300);
    }
  });
});
