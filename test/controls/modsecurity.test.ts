/**
 * The real WAF the web-injection experiments rely on: nginx + ModSecurity v3 + OWASP CRS 3.3.4
 * (paranoia 1) in front of a loopback upstream. With the engine On the injection set is blocked
 * and every blocked request leaves one JSON audit line that Bulwark's parser turns into a signal
 * of the run that sent it; with DetectionOnly it is logged but not blocked; with Off it reaches the
 * upstream and leaves no trace.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_HEADER } from '../../src/core/signals/correlation.ts';
import { signalFormat } from '../../src/core/signals/formats/registry.ts';
import { parseModSecurityLine } from '../../src/core/signals/modsecurity.ts';
import { startWafProxy, wafAvailable, type ModSecAuditEntry, type WafProxy } from '../support/nginx.ts';

const SQLI = `/?id=${encodeURIComponent("1' OR '1'='1")}`;
const XSS = `/?q=${encodeURIComponent('<script>alert(1)</script>')}`;
const HARMLESS = '/?id=1';

const newRunId = () => randomBytes(8).toString('hex');
const runOf = (e: ModSecAuditEntry) => e.transaction.request.headers[RUN_HEADER];
/** ModSecurity writes time_stamp with ctime(3) in nginx's local zone, which is ours. */
const localUtcOffsetMinutes = -new Date().getTimezoneOffset();

describe.skipIf(!wafAvailable())('nginx + ModSecurity + OWASP CRS', () => {
  /** What reached the upstream: path and query, and the run header as the upstream saw it. */
  const reached: { url: string; runId: string | undefined }[] = [];
  let upstream: http.Server;
  const wafs: Partial<Record<'On' | 'DetectionOnly' | 'Off', WafProxy>> = {};

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const runId = req.headers[RUN_HEADER.toLowerCase()];
      reached.push({ url: req.url ?? '', runId: typeof runId === 'string' ? runId : undefined });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream ok\n');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as { port: number }).port;
    const started = Date.now();
    // allSettled: whatever started is stopped in afterAll even when another start failed.
    const results = await Promise.allSettled(
      (['On', 'DetectionOnly', 'Off'] as const).map(
        async (ruleEngine) => (wafs[ruleEngine] = await startWafProxy({ upstreamPort, ruleEngine })),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    console.log(`[waf] three nginx + ModSecurity + CRS instances started in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await Promise.allSettled(Object.values(wafs).map((w) => w.stop()));
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  });

  /** One request through the WAF, carrying its own run id. */
  async function send(waf: WafProxy, pathAndQuery: string, runId: string): Promise<{ status: number; ms: number }> {
    const t0 = performance.now();
    const res = await fetch(`${waf.url}${pathAndQuery}`, { headers: { [RUN_HEADER]: runId }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t0 };
  }

  it('engine On: SQL injection and XSS get 403 and never reach the upstream; a harmless request gets 200', async () => {
    const waf = wafs.On!;
    const [sqli, xss, ok] = [newRunId(), newRunId(), newRunId()];
    expect((await send(waf, SQLI, sqli)).status).toBe(403);
    expect((await send(waf, XSS, xss)).status).toBe(403);
    expect((await send(waf, HARMLESS, ok)).status).toBe(200);
    expect(reached.filter((r) => r.runId === sqli || r.runId === xss)).toEqual([]);
    expect(reached.filter((r) => r.runId === ok)).toEqual([{ url: HARMLESS, runId: ok }]);

    // One audit line per blocked request, each naming the run that sent it.
    const blocked = await waf.waitForAuditLines((e) => e.transaction.response.http_code === 403, { count: 2 });
    expect(blocked.map((l) => runOf(JSON.parse(l) as ModSecAuditEntry)).sort()).toEqual([sqli, xss].sort());

    const receivedAt = new Date().toISOString();
    const ctx = { receivedAt, file: waf.auditLogPath, localUtcOffsetMinutes };
    const signalOf = (runId: string) => {
      const line = blocked.find((l) => runOf(JSON.parse(l) as ModSecAuditEntry) === runId)!;
      const direct = parseModSecurityLine(line, ctx);
      if (!direct.ok) throw new Error(`parser refused a real audit line: ${direct.reason}\n${line}`);
      const viaTailer = signalFormat('modsecurity').parse({ bytes: Buffer.from(line) }, { ...ctx, source: 'modsecurity' });
      expect(viaTailer).toEqual([direct.signal]);
      return direct.signal;
    };

    const s = signalOf(sqli);
    expect(s.runId).toBe(sqli);
    expect(s.source).toBe('modsecurity');
    expect(s.severity).toBe('critical');
    expect(s.resolved).toBe(false);
    // 942100: CRS's libinjection SQL injection rule; 949110: the anomaly threshold that blocked;
    // 920350: the numeric Host header of a request to 127.0.0.1 (3 points, not enough alone).
    expect(s.labels).toMatchObject({ rule: '942100', status: '403', method: 'GET', client: '127.0.0.1' });
    expect(s.labels.rules!.split(',')).toEqual(expect.arrayContaining(['942100', '949110', '920350']));
    expect(s.labels.uri).toContain('/?id=1');
    // ctime has whole seconds; the line was written moments ago.
    expect(Math.abs(Date.parse(s.time) - Date.now())).toBeLessThan(10_000);

    const x = signalOf(xss);
    expect(x.runId).toBe(xss);
    expect(x.severity).toBe('critical');
    // CRS's XSS rules: 941100 (libinjection) scores first, then 941110 and 941160.
    expect(x.labels).toMatchObject({ rule: '941100', status: '403' });
    expect(x.labels.rules!.split(',')).toEqual(expect.arrayContaining(['941100', '941110', '941160', '949110']));
    expect(x.labels.tags!.split(',')).toEqual(expect.arrayContaining(['attack-xss', 'OWASP_CRS']));

    // The harmless request is logged too (RelevantOnly logs every request a rule matched), with 200
    // and only the Host rule: a detection must match on the rule, not on "an audit line for the run".
    const harmless = await waf.waitForAuditLines((e) => runOf(e) === ok);
    expect(harmless).toHaveLength(1);
    const h = parseModSecurityLine(harmless[0]!, ctx);
    expect(h.ok && h.signal.labels).toMatchObject({ rule: '920350', rules: '920350', status: '200' });
    expect(h.ok && h.signal.runId).toBe(ok);
  });

  it('engine DetectionOnly: nothing is blocked, the injections are still logged with their rules', async () => {
    const waf = wafs.DetectionOnly!;
    const [sqli, xss] = [newRunId(), newRunId()];
    expect((await send(waf, SQLI, sqli)).status).toBe(200);
    expect((await send(waf, XSS, xss)).status).toBe(200);
    expect(reached.filter((r) => r.runId === sqli || r.runId === xss).map((r) => decodeURIComponent(r.url))).toEqual(
      [SQLI, XSS].map(decodeURIComponent),
    );

    const lines = await waf.waitForAuditLines((e) => runOf(e) === sqli || runOf(e) === xss, { count: 2 });
    expect(lines).toHaveLength(2);
    const signals = lines.map((l) => parseModSecurityLine(l, { receivedAt: new Date().toISOString(), localUtcOffsetMinutes }));
    const byRun = new Map(signals.map((r) => (r.ok ? [r.signal.runId, r.signal] : [undefined, undefined])));
    expect(byRun.get(sqli)?.labels).toMatchObject({ rule: '942100', status: '200' });
    expect(byRun.get(xss)?.labels).toMatchObject({ rule: '941100', status: '200' });
    expect((JSON.parse(lines[0]!) as { transaction: { producer: { secrules_engine: string } } }).transaction.producer.secrules_engine).toBe(
      'DetectionOnly',
    );
  });

  it('engine Off: the injections reach the upstream with 200 and leave no audit entry', async () => {
    const waf = wafs.Off!;
    const runs = [newRunId(), newRunId(), newRunId()];
    const paths = [SQLI, XSS, HARMLESS];
    for (const [i, p] of paths.entries()) expect((await send(waf, p, runs[i]!)).status).toBe(200);
    // fetch percent-encodes ' in a query; compare what the upstream got, decoded.
    expect(reached.filter((r) => runs.includes(r.runId ?? '')).map((r) => decodeURIComponent(r.url))).toEqual(
      paths.map(decodeURIComponent),
    );
    // Nothing to wait for: an engine that is Off never writes. Give a late write a moment anyway.
    await sleep(300);
    const lines = await waf.auditLines();
    expect(lines.filter((l) => (JSON.parse(l) as ModSecAuditEntry).transaction.response.http_code === 403)).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('a blocked request costs milliseconds, and its audit line follows within milliseconds', async () => {
    const waf = wafs.On!;
    const timings: number[] = [];
    const lag: number[] = [];
    for (let i = 0; i < 10; i++) {
      const runId = newRunId();
      const { status, ms } = await send(waf, SQLI, runId);
      expect(status).toBe(403);
      timings.push(ms);
      const t0 = performance.now();
      await waf.waitForAuditLines((e) => runOf(e) === runId, { timeoutMs: 2000 });
      lag.push(performance.now() - t0);
    }
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    console.log(
      `[waf] blocked request: median ${p(timings, 0.5).toFixed(1)} ms, max ${Math.max(...timings).toFixed(1)} ms; ` +
        `audit line visible after the response: median ${p(lag, 0.5).toFixed(1)} ms, max ${Math.max(...lag).toFixed(1)} ms`,
    );
    expect(Math.max(...timings)).toBeLessThan(2000);
  });
});
