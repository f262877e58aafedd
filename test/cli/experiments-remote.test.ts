/**
 * `bulwark experiments apply|delete|run|stop-all` and `bulwark runs list|show|stop` against a running
 * server, as child processes: what they print, and their exit codes (0 done, 1 the server failed
 * or is unreachable, 2 bad input).
 */
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, describeRun, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

describe('experiments and runs against a server', () => {
  let dir: TmpDir;
  let server: RunningServer;
  let target: http.Server;
  let env: Record<string, string>;
  let good: string;

  beforeAll(async () => {
    dir = await tmpDir('bulwark-cli-exp-');
    target = http.createServer((req, res) => {
      req.resume();
      res.writeHead(req.url?.startsWith('/attack') ? 403 : 200).end();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    server = await startServer({ dir: dir.path, expectToken: true });
    env = { BULWARK_URL: server.url, BULWARK_TOKEN: server.token! };
    good = path.join(dir.path, 'blocked.yaml');
    await writeFile(
      good,
      `title: The target blocks the attack
description: a request the target answers with 403
method:
  - type: action
    name: attack
    provider: { type: http, url: '${url}/attack', timeout: 3 }
expect:
  blocked:
    tolerance: 403
`,
    );
    await writeFile(
      path.join(dir.path, 'broken.yaml'),
      'title: broken\ndescription: x\nmethod:\n  - type: action\n    name: a\n    provider: { type: http }\n',
    );
  });

  afterAll(async () => {
    await server?.stop();
    await killAllChildren();
    await new Promise<void>((resolve) => target.close(() => resolve()));
    await dir?.cleanup();
  });

  it('applies a file, runs it, lists and shows the run', { timeout: 60_000 }, async () => {
    const applied = await runCli(['experiments', 'apply', good, '--name', 'cli-blocked'], { env });
    expect(applied.code, describeRun(applied)).toBe(0);
    expect(applied.stdout).toContain('applied cli-blocked: The target blocks the attack');

    const started = await runCli(['experiments', 'run', 'cli-blocked', '--json'], { env });
    expect(started.code, describeRun(started)).toBe(0);
    const { run } = JSON.parse(started.stdout);
    expect(run).toMatchObject({ experiment: 'cli-blocked', dryRun: false });

    for (let i = 0; (await api(server, 'GET', `/v1/runs/${run.id}`, { token: env.BULWARK_TOKEN })).body.run.state !== 'done'; i++) {
      if (i > 100) throw new Error('the run did not finish');
      await sleep(100);
    }
    const list = await runCli(['runs', 'list', '--experiment', 'cli-blocked'], { env });
    expect(list.code, describeRun(list)).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${run.id}\\s+cli-blocked\\s+prevented`, 'm'));

    const shown = await runCli(['runs', 'show', run.id], { env });
    expect(shown.code, describeRun(shown)).toBe(0);
    expect(shown.stdout).toContain('outcome  prevented');
    expect(shown.stdout).toMatch(/✓ injection\s+injected 'attack': status 403/);
    expect(shown.stdout).toMatch(/finished\s+prevented/);

    const dry = await runCli(['experiments', 'run', 'cli-blocked', '--dry-run'], { env });
    expect(dry.code, describeRun(dry)).toBe(0);
    expect(dry.stdout).toMatch(/dry run, nothing sent/);
  });

  it(
    'exits 2 on bad input: a file that does not parse (with line and column), an unknown name, no token',
    { timeout: 60_000 },
    async () => {
      const broken = await runCli(['experiments', 'apply', path.join(dir.path, 'broken.yaml')], { env });
      expect(broken.code, describeRun(broken)).toBe(2);
      expect(broken.stderr).toMatch(/^\s+\d+:\d+\s+/m);

      const missing = await runCli(['experiments', 'apply', path.join(dir.path, 'nope.yaml')], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read');

      const unknown = await runCli(['experiments', 'run', 'no-such-experiment'], { env });
      expect(unknown.code, describeRun(unknown)).toBe(2);
      expect(unknown.stderr).toContain("no experiment 'no-such-experiment'");

      const noToken = await runCli(['runs', 'list'], { env: { BULWARK_URL: server.url } });
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toContain('BULWARK_TOKEN');
    },
  );

  it('deletes an experiment: it no longer runs, its runs stay readable, the name can be applied again', { timeout: 60_000 }, async () => {
    expect((await runCli(['experiments', 'apply', good, '--name', 'cli-deleted'], { env })).code).toBe(0);
    const started = await runCli(['experiments', 'run', 'cli-deleted', '--json'], { env });
    expect(started.code, describeRun(started)).toBe(0);
    const { run } = JSON.parse(started.stdout);
    for (let i = 0; (await api(server, 'GET', `/v1/runs/${run.id}`, { token: env.BULWARK_TOKEN })).body.run.state !== 'done'; i++) {
      if (i > 100) throw new Error('the run did not finish');
      await sleep(100);
    }

    // A token that may read but not write is refused (exit 2), and nothing is deleted.
    const reader = await api(server, 'POST', '/v1/tokens', {
      token: env.BULWARK_TOKEN,
      body: { name: 'cli reader', scopes: ['experiments:read'] },
    });
    expect(reader.status, JSON.stringify(reader.body)).toBe(201);
    const refused = await runCli(['experiments', 'delete', 'cli-deleted'], { env: { ...env, BULWARK_TOKEN: reader.body.token } });
    expect(refused.code, describeRun(refused)).toBe(2);
    expect(refused.stderr).toContain('experiments:write');
    expect((await api(server, 'GET', '/v1/experiments/cli-deleted', { token: env.BULWARK_TOKEN })).status).toBe(200);

    const deleted = await runCli(['experiments', 'delete', 'cli-deleted'], { env });
    expect(deleted.code, describeRun(deleted)).toBe(0);
    expect(deleted.stdout).toContain('deleted cli-deleted (version 1): The target blocks the attack');
    expect(deleted.stdout).toContain('bulwark runs list --experiment cli-deleted');

    const gone = await runCli(['experiments', 'run', 'cli-deleted'], { env });
    expect(gone.code, describeRun(gone)).toBe(2);
    expect(gone.stderr).toContain("no experiment 'cli-deleted'");
    const twice = await runCli(['experiments', 'delete', 'cli-deleted'], { env });
    expect(twice.code, describeRun(twice)).toBe(2);
    expect(twice.stderr).toContain("no experiment 'cli-deleted' to delete");

    const shown = await runCli(['runs', 'show', run.id], { env });
    expect(shown.code, describeRun(shown)).toBe(0);
    expect(shown.stdout).toContain(`run ${run.id} of cli-deleted`);
    expect(shown.stdout).toContain('outcome  prevented');

    const again = await runCli(['experiments', 'apply', good, '--name', 'cli-deleted'], { env });
    expect(again.code, describeRun(again)).toBe(0);
    const json = await runCli(['experiments', 'delete', 'cli-deleted', '--json'], { env });
    expect(json.code, describeRun(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'cli-deleted', version: 2, unfinished: [] });
  });

  it('exits 1 when the server cannot be reached', async () => {
    const r = await runCli(['runs', 'list', '--url', 'http://127.0.0.1:1'], { env });
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toContain('cannot reach Bulwark at http://127.0.0.1:1');
    const d = await runCli(['experiments', 'delete', 'anything', '--url', 'http://127.0.0.1:1'], { env });
    expect(d.code, describeRun(d)).toBe(1);
  });

  it('stops everything with the global switch', async () => {
    const r = await runCli(['experiments', 'stop-all'], { env });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/^(no experiment was running|stopped \d+ runs?; their rollbacks are running)$/m);
  });
});
