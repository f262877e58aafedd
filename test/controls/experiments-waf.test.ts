/**
 * An experiment against a real WAF: nginx + ModSecurity v3 + OWASP CRS in front of a loopback
 * upstream. The experiment is the built-in SQL injection payload set (technique web.sqli)
 * expecting 403 and a detection on CRS rule 942100; Bulwark tails the WAF's JSON audit log into
 * its signal ingest, the same one the runner listens to. With the engine On the run is
 * `prevented` with a time to detect, and the WAF control both blocked and logged; with
 * SecRuleEngine DetectionOnly it logged but did not block; with Off nothing blocks or logs: `missed`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLogTailer, type LogTailer } from '../../src/adapters/log-tailer.ts';
import { findTechnique } from '../../src/core/experiments/techniques/catalogue.ts';
import { experimentDocument } from '../../src/core/experiments/techniques/render.ts';
import { RUN_HEADER } from '../../src/core/signals/correlation.ts';
import { bearer, makeTestApp, type TestApp } from '../support/app.ts';
import { startWafProxy, wafAvailable, type WafProxy } from '../support/nginx.ts';

const DETECT_WITHIN = '5s';

/** The web.sqli technique rendered against `url`, with the expectations this control must meet, and its payload count. */
function sqliExperiment(url: string): { file: string; payloads: number } {
  const technique = findTechnique('web.sqli');
  if (!technique) throw new Error('technique web.sqli is missing from the catalogue');
  const { document } = experimentDocument(technique, { path: '/search', parameter: 'q' }, { target: url, runId: 'bwkwaftest0001' });
  const file = stringify({
    ...document,
    expect: {
      blocked: { tolerance: 403, control: 'waf' },
      detected: [
        {
          name: 'crs-942100',
          control: 'waf',
          must: 'logged',
          rule: '942100',
          when: 'signal.source == "modsecurity"',
          within: DETECT_WITHIN,
        },
      ],
    },
  });
  return { file, payloads: (document.method as unknown[]).length };
}

describe.skipIf(!wafAvailable())('experiment against nginx + ModSecurity + OWASP CRS', () => {
  let t: TestApp | undefined;
  let upstream: http.Server | undefined;
  const wafs: Partial<Record<'On' | 'Off' | 'DetectionOnly', WafProxy>> = {};
  let tailer: LogTailer | undefined;
  /** Run ids that reached the upstream. */
  const reached: string[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const runId = req.headers[RUN_HEADER.toLowerCase()];
      if (typeof runId === 'string') reached.push(runId);
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('results\n');
    });
    await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const started = await Promise.allSettled(
      (['On', 'Off', 'DetectionOnly'] as const).map(
        async (ruleEngine) => (wafs[ruleEngine] = await startWafProxy({ upstreamPort, ruleEngine })),
      ),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    t = await makeTestApp();
    // ModSecurity writes time_stamp in nginx's local zone, which is ours.
    const utcOffsetMinutes = -new Date().getTimezoneOffset();
    tailer = startLogTailer({
      files: (['On', 'Off', 'DetectionOnly'] as const).map((e) => ({
        path: wafs[e]!.auditLogPath,
        format: 'modsecurity' as const,
        source: 'modsecurity',
        startAt: 'beginning' as const,
        utcOffsetMinutes,
      })),
      ingest: t.signals,
      offsets: t.deps.store.signals,
      clock: t.deps.clock,
      pollMs: 50,
      onError: (err, file) => console.warn(`[waf] tailer: ${file}: ${err.message}`),
    });
  });

  afterAll(async () => {
    await tailer?.stop();
    await t?.close();
    await Promise.allSettled(Object.values(wafs).map((w) => w.stop()));
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  });

  async function runAgainst(waf: WafProxy, name: string) {
    const app = t!;
    const applied = await app.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: bearer(app.adminToken),
      payload: { file: sqliExperiment(waf.url).file, name },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    const started = await app.app.inject({
      method: 'POST',
      url: `/v1/experiments/${name}/runs`,
      headers: bearer(app.adminToken),
      payload: {},
    });
    expect(started.statusCode, started.body).toBe(202);
    const id = started.json().run.id as string;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await app.app.inject({ url: `/v1/runs/${id}`, headers: bearer(app.adminToken) })).json();
      if (body.run.state === 'done') return body;
      if (Date.now() > deadline) throw new Error(`run not done: ${JSON.stringify(body.run)}\n${waf.errorLogTail()}`);
      await sleep(100);
    }
  }

  it('engine On: every SQL injection payload gets 403, the audit log matches the run: prevented, with a time to detect', async () => {
    const body = await runAgainst(wafs.On!, 'sqli-waf-on');
    const { run, timeline } = body;
    const payloads = sqliExperiment(wafs.On!.url).payloads;
    expect(payloads).toBeGreaterThan(3);
    const injections = timeline.filter((e: any) => e.kind === 'injection');
    expect(injections).toHaveLength(payloads);
    for (const i of injections) expect(i, i.label).toMatchObject({ detail: { status: 403, blocked: { ok: true } } });
    expect(run.outcome, run.reason).toBe('prevented');
    expect(reached).not.toContain(run.id);
    expect(run.ttdMs).toBeGreaterThanOrEqual(0);
    expect(run.ttdMs).toBeLessThan(5000);
    const detection = timeline.find((e: any) => e.kind === 'detection');
    expect(detection).toMatchObject({ ok: true, detail: { source: 'modsecurity', by: 'run-id', ttdMs: run.ttdMs } });
    const signal = await t!.deps.store.signals.get(detection.detail.signalId);
    expect(signal).toMatchObject({ runId: run.id, labels: { rule: '942100', status: '403' } });
    // The WAF control: blocked (403) and logged (the audit log), the expected rule fired.
    expect(body.journal.bulwark.controls).toEqual([
      expect.objectContaining({ control: 'waf', blocked: true, logged: true, results: ['blocked', 'logged'], findings: [] }),
    ]);
    expect(body.journal.bulwark.detections[0].ruleFired).toMatchObject({ source: 'modsecurity' });
    console.log(
      `[waf] run ${run.id}: prevented, ${payloads} payloads blocked, audit line matched ${run.ttdMs} ms after the first injection`,
    );
  });

  it('engine DetectionOnly: the payloads reach the upstream and the audit log records them: logged, not blocked', async () => {
    const body = await runAgainst(wafs.DetectionOnly!, 'sqli-waf-detection-only');
    const { run } = body;
    expect(run.outcome, run.reason).toBe('detected');
    expect(reached).toContain(run.id);
    expect(body.journal.bulwark.controls).toEqual([
      expect.objectContaining({ control: 'waf', blocked: false, logged: true, results: ['logged'], findings: ['not-blocked'] }),
    ]);
  });

  it('engine Off: the payloads reach the upstream and nothing is logged: missed', async () => {
    const body = await runAgainst(wafs.Off!, 'sqli-waf-off');
    const { run, timeline } = body;
    expect(run.outcome, run.reason).toBe('missed');
    expect(run.ttdMs).toBeNull();
    for (const i of timeline.filter((e: any) => e.kind === 'injection'))
      expect(i.detail).toMatchObject({ status: 200, blocked: { ok: false } });
    expect(reached.filter((r) => r === run.id)).toHaveLength(sqliExperiment(wafs.Off!.url).payloads);
    expect(timeline.find((e: any) => e.kind === 'detection')).toMatchObject({
      ok: false,
      label: expect.stringMatching(/^no detection 'crs-942100'/),
    });
    expect(body.journal.bulwark.controls).toEqual([
      expect.objectContaining({
        control: 'waf',
        blocked: false,
        logged: false,
        results: ['none'],
        findings: ['not-blocked', 'not-logged'],
      }),
    ]);
  });
});
