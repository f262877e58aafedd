/**
 * Signals in, in a real `bulwark serve`: webhook mappings and log files come from the config
 * file, a source-bound token posts, the log tailer starts with the server, stops on SIGTERM and
 * continues after a restart without duplicates; a bad mapping stops the start with its path.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { api, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const RUN = 'r7k2m9x4p1';

let dir: TmpDir | undefined;
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  await dir?.cleanup();
});

const modsecLine = (n: number) =>
  `${JSON.stringify({
    transaction: {
      client_ip: '127.0.0.1',
      time_stamp: 'Sun Mar  1 10:00:03 2026',
      unique_id: `unique-${n}`,
      request: { method: 'GET', uri: `/search?id=${n}%27%20OR%20%271%27%3D%271`, headers: { Host: 'shop', 'X-Bulwark-Run': RUN } },
      response: { http_code: 403 },
      messages: [
        { message: 'SQL Injection Attack Detected via libinjection', details: { ruleId: '942100', severity: '2', tags: ['attack-sqli'] } },
      ],
    },
  })}\n`;

async function signalsOf(
  s: RunningServer,
  token: string,
  source: string,
  want: number,
): Promise<{ runId: string; labels: Record<string, string> }[]> {
  for (let i = 0; ; i++) {
    const res = await api(s, 'GET', `/v1/signals?source=${source}&limit=500`, { token });
    if (res.body.signals.length >= want || i > 100) return res.body.signals;
    await sleep(50);
  }
}

describe('signals in bulwark serve', () => {
  it('takes webhooks and tails log files from the config, and stops and resumes cleanly', async () => {
    dir = await tmpDir('bulwark-signals-');
    const log = path.join(dir.path, 'modsec_audit.log');
    const config = path.join(dir.path, 'bulwark.yaml');
    writeFileSync(
      config,
      [
        'signals:',
        '  webhooks:',
        '    wazuh: { id: $.id, labels: { rule: $.rule.id } }',
        '  files:',
        `    - { path: ${JSON.stringify(log)}, format: modsecurity, source: waf }`,
      ].join('\n'),
    );
    server = await startServer({ dir: dir.path, expectToken: true, checkpointInterval: 0, extraArgs: ['--config', config] });
    const admin = server.token!;

    const created = await runCli(['tokens', 'create', '--name', 'wazuh', '--scope', 'signals:ingest:wazuh', '--json', '--db', server.db]);
    expect(created.code, created.stderr).toBe(0);
    const wazuh = JSON.parse(created.stdout).token as string;
    const posted = await api(server, 'POST', '/v1/signals/webhook/wazuh', { token: wazuh, body: { id: 'a1', rule: { id: '31103' } } });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await api(server, 'POST', '/v1/signals/alertmanager', { token: wazuh, body: {} })).status).toBe(403);

    appendFileSync(log, modsecLine(1) + modsecLine(2));
    const tailed = await signalsOf(server, admin, 'waf', 2);
    expect(tailed.map((s) => s.runId)).toEqual([RUN, RUN]);
    expect(tailed.map((s) => s.labels.rule)).toEqual(['942100', '942100']);

    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    appendFileSync(log, modsecLine(3));
    server = await startServer({ dir: dir.path, checkpointInterval: 0, extraArgs: ['--config', config] });
    const after = await signalsOf(server, admin, 'waf', 3);
    await sleep(500);
    expect((await signalsOf(server, admin, 'waf', 3)).map((s) => s.labels.unique_id).sort()).toEqual(['unique-1', 'unique-2', 'unique-3']);
    expect(after).toHaveLength(3);
    const verify = await api(server, 'GET', '/v1/ledger/verify', { token: admin });
    expect(verify.body).toMatchObject({ ok: true });
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a bad webhook mapping, naming its path', async () => {
    const d = await tmpDir('bulwark-signals-bad-');
    try {
      const config = path.join(d.path, 'bulwark.yaml');
      writeFileSync(config, 'signals:\n  webhooks:\n    wazuh:\n      severity: "$.["\n');
      await expect(startServer({ dir: d.path, checkpointInterval: 0, extraArgs: ['--config', config] })).rejects.toThrow(
        /signals\.webhooks\.wazuh\.severity/,
      );
    } finally {
      await d.cleanup();
    }
  });
});
