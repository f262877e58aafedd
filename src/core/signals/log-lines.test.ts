import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAuditdLine } from './auditd.ts';
import { LOG_FORMATS, type LogFormat } from './formats/registry.ts';
import type { LogLineContext } from './log-line.ts';
import { parseModSecurityLine } from './modsecurity.ts';
import { parseNginxLine } from './nginx.ts';
import type { SignalResult } from './signal.ts';
import { anyText, expectClearReason, expectValidSignal, jsonMutation, textMutation } from './fuzz.test-support.ts';

/** The line parser of each log format (the registry's formats wrap these). */
const LINE_PARSERS: Record<LogFormat, (line: string, ctx: LogLineContext) => SignalResult> = {
  modsecurity: parseModSecurityLine,
  nginx: parseNginxLine,
  auditd: parseAuditdLine,
};
const parseLogLine = (format: LogFormat, line: string, ctx: LogLineContext): SignalResult => LINE_PARSERS[format](line, ctx);

const RUN = 'r7k2m9x4p1';
const receivedAt = '2026-03-01T10:00:05.250Z';
const ctx: LogLineContext = { receivedAt, file: '/var/log/modsec_audit.log', offset: 4096 };

/** ModSecurity 3.0.x + nginx connector + CRS 3.3.4, SecAuditLogFormat JSON, parts ABHZ, as Transaction::toJSON writes it. */
function modsecEntry() {
  return {
    transaction: {
      client_ip: '127.0.0.1',
      time_stamp: 'Sun Mar  1 10:00:03 2026',
      server_id: '4bd4ba0c1d0a0c4a0a6c4c0e5a1d3b9a1a1e0f3c',
      client_port: 51234,
      host_ip: '127.0.0.1',
      host_port: 8080,
      unique_id: '174082320312.345678',
      request: {
        method: 'GET',
        http_version: 1.1,
        uri: '/search?id=1%27%20OR%20%271%27%3D%271',
        headers: {
          Host: '127.0.0.1:8080',
          'User-Agent': `curl/8.5.0 bulwark-run/${RUN}`,
          Accept: '*/*',
          'x-bulwark-run': RUN,
          Cookie: 'session=s3cr3t',
          Authorization: 'Bearer eyJhbGciOi.secret',
        },
      },
      response: { http_code: 403 },
      producer: {
        modsecurity: 'ModSecurity v3.0.9 (Linux)',
        connector: 'ModSecurity-nginx v1.0.3',
        secrules_engine: 'Enabled',
        components: ['OWASP_CRS/3.3.4"'],
      },
      messages: [
        {
          message: 'SQL Injection Attack Detected via libinjection',
          details: {
            match: 'detected SQLi using libinjection.',
            reference: 'v14,23',
            ruleId: '942100',
            file: '/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf',
            lineNumber: '45',
            data: "Matched Data: s&sos found within ARGS:id: 1' OR '1'='1",
            severity: '2',
            ver: 'OWASP_CRS/3.3.4',
            rev: '',
            tags: [
              'application-multi',
              'language-multi',
              'platform-multi',
              'attack-sqli',
              'paranoia-level/1',
              'OWASP_CRS',
              'capec/1000/152/248/66',
              'PCI/6.5.2',
            ],
            maturity: '0',
            accuracy: '0',
          },
        },
        {
          message: 'Inbound Anomaly Score Exceeded (Total Score: 5)',
          details: {
            match: "Matched \"Operator `Ge' with parameter `5' against variable `TX:ANOMALY_SCORE' (Value: `5' )",
            reference: '',
            ruleId: '949110',
            file: '/usr/share/modsecurity-crs/rules/REQUEST-949-BLOCKING-EVALUATION.conf',
            lineNumber: '80',
            data: '',
            severity: '2',
            ver: 'OWASP_CRS/3.3.4',
            rev: '',
            tags: ['application-multi', 'language-multi', 'platform-multi', 'attack-generic'],
            maturity: '0',
            accuracy: '0',
          },
        },
      ],
    },
  };
}
const modsecLine = JSON.stringify(modsecEntry());

const nginxLines = {
  injected: `127.0.0.1 - - [01/Mar/2026:11:00:03 +0100] "GET /search?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1" 403 153 "-" "curl/8.5.0 bulwark-run/${RUN}"`,
  normal:
    '203.0.113.9 - alice [01/Mar/2026:10:00:04 +0000] "POST /login HTTP/1.1" 200 512 "https://shop.example/login" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"',
  tls: '192.0.2.1 - - [01/Mar/2026:10:00:05 +0000] "\\x16\\x03\\x01\\x00\\xF1\\x01" 400 157 "-" "-"',
  canary: `198.51.100.7 - - [01/Mar/2026:10:00:06 -0500] "GET /api/keys?k=bwk-canary-${RUN}-awskey HTTP/2.0" 401 0 "-" "python-requests/2.31 \\x22quoted\\x22"`,
};

const auditdLines = {
  syscall:
    'type=SYSCALL msg=audit(1772359203.123:4567): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd5c1e2e10 a2=0 a3=0 items=1 ppid=1201 pid=1302 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="cat" exe="/usr/bin/cat" subj=unconfined key="canary-files"\x1dARCH=x86_64 SYSCALL=openat AUID="alice" UID="root"',
  proctitle:
    'type=PROCTITLE msg=audit(1772359203.123:4567): proctitle=636174002F7372762F73686F702F62776B2D63616E6172792D72376B326D39783470312E747874',
  userAuth:
    'node=shop-1 type=USER_AUTH msg=audit(1772359204.456:4570): pid=2201 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg=\'op=PAM:authentication grantors=? acct="root" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed\'',
  avc: 'type=AVC msg=audit(1772359205.000:4571): avc:  denied  { read } for  pid=1400 comm="nginx" name="shadow" dev="sda1" ino=1234 scontext=system_u:system_r:httpd_t:s0 tclass=file permissive=0',
};

function ok(r: ReturnType<typeof parseModSecurityLine>) {
  if (!r.ok) throw new Error(r.reason);
  expectValidSignal(r.signal);
  return r.signal;
}

describe('ModSecurity v3 JSON audit log', () => {
  it('turns a blocked SQL injection into a signal with the rule, status and run id', () => {
    const s = ok(parseModSecurityLine(modsecLine, ctx));
    expect(s).toMatchObject({
      source: 'modsecurity',
      time: '2026-03-01T10:00:03.000Z',
      receivedAt,
      severity: 'critical',
      runId: RUN,
      labels: {
        rule: '942100',
        rules: '942100,949110',
        status: '403',
        method: 'GET',
        uri: '/search?id=1%27%20OR%20%271%27%3D%271',
        host: '127.0.0.1:8080',
        client: '127.0.0.1',
        unique_id: '174082320312.345678',
      },
    });
    expect(s.labels.tags).toContain('attack-sqli');
  });

  it('keeps no credentials in the body', () => {
    const s = ok(parseModSecurityLine(modsecLine, ctx));
    const text = JSON.stringify(s);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('eyJhbGciOi');
    expect(s.body).toMatchObject({
      request: { headers: { Cookie: '[redacted]', Authorization: '[redacted]', 'User-Agent': `curl/8.5.0 bulwark-run/${RUN}` } },
      response: { http_code: 403 },
    });
  });

  it('picks the most severe rule as `rule`, the first among equals', () => {
    const e = modsecEntry();
    e.transaction.messages[1]!.details.severity = '0';
    expect(ok(parseModSecurityLine(JSON.stringify(e), ctx)).labels.rule).toBe('949110');
    e.transaction.messages[1]!.details.severity = '4';
    expect(ok(parseModSecurityLine(JSON.stringify(e), ctx)).labels.rule).toBe('942100');
  });

  it('applies the writer’s UTC offset to its zone-less ctime stamp', () => {
    expect(ok(parseModSecurityLine(modsecLine, { ...ctx, localUtcOffsetMinutes: 60 })).time).toBe('2026-03-01T09:00:03.000Z');
  });

  it('reads an entry with no rule matches as an info signal', () => {
    const e = modsecEntry() as { transaction: Record<string, unknown> };
    e.transaction.messages = [];
    const s = ok(parseModSecurityLine(JSON.stringify(e), ctx));
    expect(s.severity).toBe('info');
    expect(s.labels).not.toHaveProperty('rule');
  });

  it('finds the run id however the header is cased, and in a canary in the URI', () => {
    const e = modsecEntry();
    const h = e.transaction.request.headers as Record<string, string>;
    delete h['x-bulwark-run'];
    h['User-Agent'] = 'curl/8.5.0';
    expect(ok(parseModSecurityLine(JSON.stringify(e), ctx)).runId).toBeUndefined();
    h['X-BULWARK-RUN'] = RUN;
    expect(ok(parseModSecurityLine(JSON.stringify(e), ctx)).runId).toBe(RUN);
    delete h['X-BULWARK-RUN'];
    e.transaction.request.uri = `/?q=bwk-canary-${RUN}`;
    expect(ok(parseModSecurityLine(JSON.stringify(e), ctx)).runId).toBe(RUN);
  });

  it('says why a line is not an audit entry', () => {
    const reason = (l: string) => {
      const r = parseModSecurityLine(l, ctx);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason('')).toBe('empty line');
    expect(reason('{"transaction":\u0000}')).toMatch(/^the line holds a NUL character/);
    expect(reason('{"a":"\ufffe"}')).toMatch(/^the line holds the noncharacter U\+FFFE/);
    expect(reason('{"transaction":')).toMatch(/^not JSON: /);
    expect(reason('{"foo":1}')).toMatch(/no "transaction" object/);
    expect(reason(JSON.stringify({ transaction: { ...modsecEntry().transaction, time_stamp: 'later' } }))).toMatch(
      /time_stamp "later" is neither ctime/,
    );
    expect(reason('x'.repeat(100))).toMatch(/^not JSON/);
    for (const n of [100, 5000, 100_000])
      expect(reason(`{"transaction":${'['.repeat(n)}${']'.repeat(n)}}`)).toMatch(/^the entry nests deeper than 64 levels/);
    expect(reason('{"transaction":{"a":"\\u0000"}}')).toMatch(/^the entry has a string at \$\.transaction\.a that holds a NUL/);
    expect(parseModSecurityLine('x'.repeat(100), { ...ctx, maxLineLength: 50 })).toEqual({
      ok: false,
      reason: 'line is longer than 50 characters',
    });
  });

  it('dedups a line re-read at the same offset, not the same request logged again elsewhere', () => {
    const a = ok(parseModSecurityLine(modsecLine, ctx));
    expect(ok(parseModSecurityLine(`${modsecLine}\n`, { ...ctx, receivedAt: '2026-03-01T11:00:00Z' })).fingerprint).toBe(a.fingerprint);
    expect(ok(parseModSecurityLine(modsecLine, { ...ctx, offset: 9000 })).fingerprint).not.toBe(a.fingerprint);
  });
});

describe('nginx combined access log', () => {
  it('parses a line the injected request produced, with the run id from the user agent', () => {
    const r = parseNginxLine(nginxLines.injected, { receivedAt });
    const s = ok(r);
    expect(s).toMatchObject({
      source: 'nginx',
      time: '2026-03-01T10:00:03.000Z',
      severity: 'info',
      runId: RUN,
      labels: {
        client: '127.0.0.1',
        method: 'GET',
        uri: '/search?id=1%27%20OR%20%271%27%3D%271',
        protocol: 'HTTP/1.1',
        status: '403',
        bytes: '153',
        user_agent: `curl/8.5.0 bulwark-run/${RUN}`,
      },
    });
    expect(s.labels).not.toHaveProperty('referer');
    expect(s.labels).not.toHaveProperty('user');
  });

  it('parses ordinary traffic, garbage request lines and escaped bytes', () => {
    expect(ok(parseNginxLine(nginxLines.normal, { receivedAt }))).toMatchObject({
      labels: { user: 'alice', method: 'POST', referer: 'https://shop.example/login' },
    });
    expect(ok(parseNginxLine(nginxLines.normal, { receivedAt })).runId).toBeUndefined();
    const tls = ok(parseNginxLine(nginxLines.tls, { receivedAt }));
    expect(tls.labels.request).toBeDefined();
    expect(tls.labels).not.toHaveProperty('method');
    const canary = ok(parseNginxLine(nginxLines.canary, { receivedAt }));
    expect(canary).toMatchObject({
      time: '2026-03-01T15:00:06.000Z',
      runId: RUN,
      labels: { user_agent: 'python-requests/2.31 "quoted"', protocol: 'HTTP/2.0' },
    });
  });

  it('ignores fields appended after the combined format', () => {
    expect(ok(parseNginxLine(`${nginxLines.normal} "10.0.0.1" rt=0.002`, { receivedAt })).labels.status).toBe('200');
  });

  it('says which part of the line is wrong', () => {
    const reason = (l: string) => {
      const r = parseNginxLine(l, { receivedAt });
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason('127.0.0.1 - - [01/Mar/2026:10:00:03] "GET / HTTP/1.1" 200 1 "-" "-"')).toMatch(/time "01\/Mar\/2026:10:00:03" is not/);
    expect(reason('127.0.0.1 - - [01/Mar/2026:10:00:03 +0000] GET / 200')).toMatch(/expected the quoted request line/);
    expect(reason('127.0.0.1 - - [01/Mar/2026:10:00:03 +0000] "GET / HTTP/1.1" 2000 1 "-" "-"')).toMatch(/status and the byte count/);
    expect(reason('127.0.0.1 - - [01/Mar/2026:10:00:03 +0000] "GET / HTTP/1.1" 200 1 "-"')).toMatch(/referer and user agent/);
  });
});

describe('auditd records', () => {
  it('turns key=value pairs into labels, enriched fields included', () => {
    const s = ok(parseAuditdLine(auditdLines.syscall, { receivedAt }));
    expect(s).toMatchObject({
      source: 'auditd',
      time: '2026-03-01T10:00:03.123Z',
      severity: 'info',
      labels: {
        type: 'SYSCALL',
        audit_id: '1772359203.123:4567',
        syscall: '257',
        success: 'yes',
        comm: 'cat',
        exe: '/usr/bin/cat',
        key: 'canary-files',
        SYSCALL: 'openat',
        AUID: 'alice',
      },
    });
  });

  it('decodes hex-encoded fields and finds a canary in them', () => {
    const s = ok(parseAuditdLine(auditdLines.proctitle, { receivedAt }));
    expect(s.labels.proctitle).toBe(`cat /srv/shop/bwk-canary-${RUN}.txt`);
    expect(s.runId).toBe(RUN);
  });

  it("reads the fields inside a USER_* record's msg='…'", () => {
    const s = ok(parseAuditdLine(auditdLines.userAuth, { receivedAt }));
    expect(s.labels).toMatchObject({
      type: 'USER_AUTH',
      node: 'shop-1',
      op: 'PAM:authentication',
      acct: 'root',
      addr: '203.0.113.9',
      res: 'failed',
      pid: '2201',
    });
  });

  it("skips an AVC record's free text and keeps its pairs", () => {
    expect(ok(parseAuditdLine(auditdLines.avc, { receivedAt })).labels).toMatchObject({
      pid: '1400',
      comm: 'nginx',
      name: 'shadow',
      tclass: 'file',
    });
  });

  it('refuses lines that are not audit records', () => {
    const r = parseAuditdLine('Mar  1 10:00:03 shop-1 sshd[2201]: Failed password for root', { receivedAt });
    expect(r).toEqual({ ok: false, reason: 'not an auditd record: expected "type=TYPE msg=audit(EPOCH.MS:SERIAL): …"' });
  });
});

describe('every log parser', () => {
  const fixtures: Record<LogFormat, fc.Arbitrary<string>> = {
    modsecurity: fc.oneof(
      jsonMutation(modsecEntry()).map((v) => JSON.stringify(v) ?? ''),
      textMutation(modsecLine),
    ),
    nginx: fc.oneof(...Object.values(nginxLines).map(textMutation)),
    auditd: fc.oneof(...Object.values(auditdLines).map(textMutation)),
  };

  for (const format of LOG_FORMATS) {
    it(`${format}: never throws on arbitrary text or mutated real lines, and explains each refusal`, () => {
      fc.assert(
        fc.property(fc.oneof(anyText, fixtures[format]), fc.option(fc.nat(), { nil: undefined }), (line, offset) => {
          const r = parseLogLine(format, line, { receivedAt, offset });
          if (r.ok) {
            expectValidSignal(r.signal);
            expect(r.signal.source).toBe(format);
          } else expectClearReason(r);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('stays linear on long hostile lines', () => {
    const long = `1.2.3.4 - ${' ['.repeat(200_000)}`;
    const t0 = performance.now();
    for (const format of LOG_FORMATS) parseLogLine(format, long, { receivedAt });
    parseAuditdLine(`type=X msg=audit(1.000:1): ${'a='.repeat(200_000)}`, { receivedAt });
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
