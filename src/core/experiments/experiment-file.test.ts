import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseExperiment, unsupportedActivities, type ParseExperimentResult } from './experiment-file.ts';
import type { Activity, ExperimentIssue } from './types.ts';

/** A Chaos Toolkit experiment in JSON, modelled on the TLS-certificate example of its tutorial. */
const CHAOS_TOOLKIT_JSON = `{
  "version": "1.0.0",
  "title": "What is the impact of an expired certificate on our application chain?",
  "description": "If a certificate expires, we should gracefully deal with the issue.",
  "tags": ["tls"],
  "steady-state-hypothesis": {
    "title": "Application responds",
    "probes": [
      {
        "type": "probe",
        "name": "we-can-request-sunset",
        "tolerance": 200,
        "provider": {
          "type": "http",
          "timeout": 3,
          "verify_tls": false,
          "url": "https://localhost:8443/city/Paris"
        }
      }
    ]
  },
  "method": [
    {
      "type": "action",
      "name": "swap-to-expired-cert",
      "provider": { "type": "process", "path": "cp", "arguments": "expired-cert.pem cert.pem" }
    },
    {
      "type": "probe",
      "name": "read-tls-cert-expiry-date",
      "provider": { "type": "process", "path": "openssl", "arguments": "x509 -enddate -noout -in cert.pem" }
    },
    {
      "type": "action",
      "name": "restart-astre-service-to-pick-up-certificate",
      "provider": { "type": "process", "path": "pkill", "arguments": "--echo -HUP -F astre.pid" }
    },
    {
      "type": "action",
      "name": "restart-sunset-service-to-pick-up-certificate",
      "provider": { "type": "process", "path": "pkill", "arguments": "--echo -HUP -F sunset.pid" },
      "pauses": { "after": 1 }
    }
  ],
  "rollbacks": [
    {
      "type": "action",
      "name": "swap-to-valid-cert",
      "provider": { "type": "process", "path": "cp", "arguments": "valid-cert.pem cert.pem" }
    },
    { "ref": "restart-astre-service-to-pick-up-certificate" },
    { "ref": "restart-sunset-service-to-pick-up-certificate" }
  ]
}`;

/** The same format in YAML, with configuration, secrets and every tolerance kind. */
const CHAOS_TOOLKIT_YAML = `version: 1.0.0
title: The shop API stays healthy when its cache is flushed
description: Flush the cache and check that the catalogue still answers in time.
tags: [shop, cache]
contributions:
  availability: high
  security: none
extensions:
  - name: chaosiq
    experiment_id: abc
configuration:
  base_url:
    type: env
    key: SHOP_URL
    default: http://127.0.0.1:8080
  retries: 3
secrets:
  shop:
    api_token:
      type: env
      key: SHOP_TOKEN
    static: s3cr3t-value
controls:
  - name: tracing
    provider:
      type: python
      module: chaostracing.control
runtime:
  rollbacks:
    strategy: always
steady-state-hypothesis:
  title: The catalogue answers
  probes:
    - type: probe
      name: catalogue-answers
      tolerance: 200
      provider:
        type: http
        url: \${base_url}/catalogue
        headers:
          Authorization: Bearer \${api_token}
        timeout: [3, 5]
        secrets: [shop]
    - type: probe
      name: catalogue-is-json
      tolerance:
        type: jsonpath
        path: $.items[*].id
        target: body
      provider:
        type: http
        url: \${base_url}/catalogue
    - type: probe
      name: healthy-word
      tolerance:
        type: regex
        pattern: ^(?P<state>ok|healthy)$
        target: stdout
      provider:
        type: process
        path: /usr/bin/curl
        arguments: [-s, "\${base_url}/health"]
        timeout: 10
    - type: probe
      name: latency-is-fine
      tolerance:
        type: range
        range: [0, 0.5]
        target: stdout
      provider:
        type: process
        path: ./latency.sh
        arguments:
          --url: \${base_url}
          --count: 3
    - type: probe
      name: cache-up
      tolerance: [0, 1, 2]
      provider: {type: process, path: ./cache-status.sh}
    - type: probe
      name: feature-on
      tolerance: true
      provider: {type: process, path: ./flag.sh}
    - type: probe
      name: mode
      tolerance: "live"
      provider: {type: process, path: ./mode.sh}
method:
  - type: action
    name: flush-cache
    background: true
    provider:
      type: http
      method: post
      url: \${base_url}/admin/cache/flush
      arguments:
        scope: all
    pauses:
      before: 1
      after: 2.5
  - ref: catalogue-answers
rollbacks:
  - type: action
    name: warm-cache
    provider:
      type: http
      url: \${base_url}/admin/cache/warm
      method: POST
`;

/** A Bulwark experiment using every addition. */
const BULWARK_YAML = `title: SQL injection against the shop is blocked and alerts within two minutes
description: Send a classic SQL injection and expect a 403 from the WAF and an alert.
techniques: [T1190, T1059.004]
configuration:
  target: http://127.0.0.1:8081
steady-state-hypothesis:
  title: the shop answers
  probes:
    - type: probe
      name: shop-up
      tolerance: 200
      provider: {type: http, url: "\${target}/"}
method:
  - type: action
    name: inject-sqli
    provider:
      type: http
      url: \${target}/search
      method: GET
      arguments: {q: "1' OR '1'='1"}
      expected_status: [403, 406]
  - type: action
    name: open-port
    provider: {type: tcp, operation: listen, host: 127.0.0.1, port: 0, timeout: 5s}
  - type: action
    name: flip-config
    provider:
      type: file
      operation: modify
      path: /tmp/shop/config.ini
      find: "waf = on"
      replace: "waf = off"
      backup: /tmp/shop/config.ini.bak
rollbacks:
  - type: action
    name: restore-config
    provider: {type: file, operation: restore, path: /tmp/shop/config.ini, backup: /tmp/shop/config.ini.bak}
expect:
  blocked:
    tolerance: 403
    within: 5s
  detected:
    - name: waf-alert
      when: signal.labels.rule == "942100" && signal.body.run == run.id
      within: 2m
    - name: audit-log
      when: signal.source == "audit" && signal.severity in ["high", "critical"]
      within: 1m30s
safety:
  abort:
    - probe: shop-up
      every: 10s
    - probe:
        type: probe
        name: error-rate-low
        tolerance: {type: range, range: [0, 5]}
        provider: {type: tcp, operation: connect, host: 127.0.0.1, port: 9090, send: "GET /rate"}
      every: 30s
  maxDuration: 10m
  blastRadius:
    hosts: [127.0.0.1, localhost]
    paths: [/search, /]
  dryRun: false
schedule:
  cron: "*/15 9-17 * * mon-fri"
  jitter: 30s
x-owner: team-shop
`;

function expectOk(r: ParseExperimentResult) {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors, null, 2)}`);
  return r;
}

function expectErrors(r: ParseExperimentResult): ExperimentIssue[] {
  if (r.ok) throw new Error('expected errors, got ok');
  return r.errors;
}

/** Line and column (from 1) of the n-th occurrence of `needle` in `text`. */
function pos(text: string, needle: string, nth = 0): { line: number; column: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`'${needle}' not in text`);
  }
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

describe('parseExperiment: Chaos Toolkit files as they are', () => {
  it('reads a Chaos Toolkit JSON experiment with http and process providers unchanged', () => {
    const r = expectOk(parseExperiment(CHAOS_TOOLKIT_JSON));
    const e = r.experiment;
    expect(r.warnings).toEqual([]);
    expect(e.title).toMatch(/expired certificate/);
    expect(e.steadyStateHypothesis?.probes[0]?.provider).toMatchObject({
      type: 'http',
      url: 'https://localhost:8443/city/Paris',
      method: 'GET',
      verifyTls: false,
      timeout: { connectMs: 3000, readMs: 3000 },
    });
    expect(e.method[0]).toMatchObject({
      type: 'action',
      provider: { type: 'process', path: 'cp', arguments: { kind: 'shell', line: 'expired-cert.pem cert.pem' } },
    });
    expect(e.method[3]).toMatchObject({ pauses: { afterMs: 1000 } });
    // A ref designates the activity of that name, so the runner runs it again as a rollback.
    const ref = e.rollbacks[1];
    expect(ref && 'ref' in ref ? ref.activity.name : undefined).toBe('restart-astre-service-to-pick-up-certificate');
    expect(e.document).toEqual(JSON.parse(CHAOS_TOOLKIT_JSON));
  });

  it('reads a YAML experiment with configuration, secrets and every tolerance kind', () => {
    const r = expectOk(parseExperiment(CHAOS_TOOLKIT_YAML));
    const e = r.experiment;
    expect(e.configuration['base_url']).toEqual({ kind: 'env', key: 'SHOP_URL', default: 'http://127.0.0.1:8080' });
    expect(e.configuration['retries']).toEqual({ kind: 'inline', value: 3 });
    expect(e.secrets['shop']).toEqual({ api_token: { kind: 'env', key: 'SHOP_TOKEN' }, static: { kind: 'inline', value: 's3cr3t-value' } });
    expect(e.contributions).toEqual({ availability: 'high', security: 'none' });
    expect(e.runtime).toEqual({ rollbacks: { strategy: 'always' } });
    const probes = e.steadyStateHypothesis!.probes;
    expect(probes.map((p) => p.tolerance?.kind)).toEqual(['int', 'jsonpath', 'regex', 'range', 'list', 'bool', 'string']);
    expect(probes[2]!.provider).toMatchObject({ arguments: { kind: 'argv', argv: ['-s', '${base_url}/health'] }, timeoutMs: 10_000 });
    // Chaos Toolkit flattens a mapping of arguments into key, value pairs.
    expect(probes[3]!.provider).toMatchObject({ arguments: { kind: 'argv', argv: ['--url', '${base_url}', '--count', '3'] } });
    expect(e.method[0]).toMatchObject({
      background: true,
      pauses: { beforeMs: 1000, afterMs: 2500 },
      provider: { method: 'POST', arguments: { scope: 'all' } },
    });
    // Controls are kept and reported as not run.
    expect(e.controls).toHaveLength(1);
    expect(r.warnings.map((w) => w.message)).toEqual(['controls are kept but not run by Bulwark']);
  });

  it('accepts a python provider but marks it unsupported so a caller can refuse it', () => {
    const text = `title: t
description: d
method:
  - type: probe
    name: pid-exists
    provider: {type: python, module: os.path, func: exists, arguments: {path: astre.pid}}
`;
    const r = expectOk(parseExperiment(text));
    expect(r.warnings).toEqual([
      expect.objectContaining({
        path: 'method[0].provider',
        ...pos(text, '{type: python'),
        message: expect.stringMatching(/cannot run in Bulwark; rewrite/),
      }),
    ]);
    expect(unsupportedActivities(r.experiment)).toEqual([
      { path: 'method[0].provider', message: expect.stringContaining('os.path.exists') },
    ]);
  });

  it('reads an empty method, as Chaos Toolkit allows for hypothesis-only experiments', () => {
    const r = expectOk(parseExperiment('title: t\ndescription: d\nmethod: []\n'));
    expect(r.experiment.method).toEqual([]);
    expect(r.experiment.rollbacks).toEqual([]);
  });
});

describe('parseExperiment: Bulwark additions', () => {
  it('reads an experiment with every extension', () => {
    const r = expectOk(parseExperiment(BULWARK_YAML));
    const e = r.experiment;
    expect(r.warnings).toEqual([]);
    expect(e.techniques).toEqual(['T1190', 'T1059.004']);
    expect(e.expect).toEqual({
      blocked: { tolerance: { kind: 'int', value: 403 }, withinMs: 5000 },
      detected: [
        { name: 'waf-alert', when: 'signal.labels.rule == "942100" && signal.body.run == run.id', withinMs: 120_000 },
        { name: 'audit-log', when: 'signal.source == "audit" && signal.severity in ["high", "critical"]', withinMs: 90_000 },
      ],
    });
    expect(e.safety?.abort.map((a) => [a.probe.name, a.everyMs])).toEqual([
      ['shop-up', 10_000],
      ['error-rate-low', 30_000],
    ]);
    expect(e.safety).toMatchObject({
      maxDurationMs: 600_000,
      blastRadius: { hosts: ['127.0.0.1', 'localhost'], paths: ['/search', '/'] },
      dryRun: false,
    });
    expect(e.schedule).toEqual({ cron: '*/15 9-17 * * mon-fri', jitterMs: 30_000 });
    expect(e.method[0]).toMatchObject({ provider: { expectedStatus: [403, 406] } });
    expect(e.method[1]).toMatchObject({ provider: { type: 'tcp', operation: 'listen', port: 0, timeoutMs: 5000 } });
    expect(e.method[2]).toMatchObject({ provider: { type: 'file', operation: 'modify', find: 'waf = on', replace: 'waf = off' } });
    expect(e.vendor).toEqual({ 'x-owner': 'team-shop' });
  });

  it('gives the same experiment from JSON and from YAML', () => {
    const asJson = JSON.stringify(parseYaml(BULWARK_YAML), null, 2);
    const a = expectOk(parseExperiment(asJson)).experiment;
    const b = expectOk(parseExperiment(BULWARK_YAML)).experiment;
    expect(a).toEqual(b);
  });
});

describe('parseExperiment: errors with line, column and the fix', () => {
  it('points at a misspelt key and suggests the right one', () => {
    const text = `title: t
description: d
steady-state-hypothesis:
  title: h
  probes:
    - type: probe
      name: up
      toleranse: 200
      provider: {type: http, url: "http://127.0.0.1/"}
method: []
`;
    expect(expectErrors(parseExperiment(text))).toEqual([
      {
        path: 'steady-state-hypothesis.probes[0].toleranse',
        line: 8,
        column: 7,
        message: "unknown key 'toleranse' — did you mean 'tolerance'?",
      },
    ]);
  });

  it('points at a URL that is not absolute http(s)', () => {
    const text = `title: t
description: d
method:
  - type: action
    name: a
    provider: {type: process, path: /bin/true}
  - type: action
    name: b
    provider: {type: process, path: /bin/true}
  - type: action
    name: call
    provider:
      type: http
      url: ftp://example.com/file
`;
    expect(expectErrors(parseExperiment(text))).toEqual([
      {
        path: 'method[2].provider.url',
        line: 14,
        column: 12,
        message: 'url must be an absolute http(s) URL, e.g. http://127.0.0.1:8080/health',
      },
    ]);
  });

  it('names the missing required keys of Chaos Toolkit', () => {
    const text = 'version: 1.0.0\ntags: [a]\n';
    const errors = expectErrors(parseExperiment(text));
    expect(errors.map((e) => e.message)).toEqual([
      'title is required: add a title: a short name for the experiment',
      'description is required: add a description: what the experiment shows',
      'method is required: add method: a list of actions and probes (it may be empty: method: [])',
    ]);
    expect(errors.every((e) => e.line === 1 && e.column === 1)).toBe(true);
  });

  it('refuses an invalid regex tolerance at parse time', () => {
    const text = `title: t
description: d
steady-state-hypothesis:
  title: h
  probes:
    - type: probe
      name: p
      provider: {type: process, path: ./x}
      tolerance:
        type: regex
        pattern: "(unclosed"
method: []
`;
    const [e] = expectErrors(parseExperiment(text));
    expect(e).toMatchObject({ path: 'steady-state-hypothesis.probes[0].tolerance.pattern', ...pos(text, '"(unclosed"') });
    expect(e!.message).toMatch(/pattern '\(unclosed' is not a valid regular expression .*; fix or escape it/);
  });

  it('refuses an unsupported provider type, a bad duration and a bad technique', () => {
    const text = `title: t
description: d
techniques: [T1190, t1059]
method:
  - type: action
    name: a
    provider: {type: ssh, host: x}
expect:
  detected:
    - name: d
      when: signal.severity == "high"
      within: 2
schedule:
  cron: "61 * * * *"
`;
    const errors = expectErrors(parseExperiment(text));
    expect(errors).toEqual([
      {
        path: 'techniques[1]',
        ...pos(text, 't1059'),
        message: 'technique "t1059" is not a MITRE ATT&CK id; write e.g. T1190 or T1059.004',
      },
      {
        path: 'method[0].provider.type',
        ...pos(text, 'ssh'),
        message: 'provider type "ssh" is not supported; use one of http, process, python, tcp, file',
      },
      { path: 'expect.detected[0].within', ...pos(text, '2\n'), message: "within must be a duration with a unit, e.g. '2s'" },
      { path: 'schedule.cron', ...pos(text, '"61'), message: "cron '61 * * * *': minute value 61 is out of range 0-59" },
    ]);
  });

  it('points inside a CEL expression at the unknown field', () => {
    const text = `title: t
description: d
method: []
expect:
  detected:
    - name: d
      when: signal.lables.rule == "942100"
      within: 2m
`;
    const [e] = expectErrors(parseExperiment(text));
    expect(e).toMatchObject({ path: 'expect.detected[0].when', ...pos(text, 'lables') });
    expect(e!.message).toMatch(/No such key: lables .*signal has id, source/);
  });

  it('refuses a ref to an activity that does not exist, suggesting the closest name', () => {
    const text = `title: t
description: d
method:
  - type: action
    name: flush-cache
    provider: {type: process, path: ./flush}
rollbacks:
  - ref: flush-cach
`;
    expect(expectErrors(parseExperiment(text))).toEqual([
      { path: 'rollbacks[0].ref', ...pos(text, 'flush-cach\n'), message: "no activity is named 'flush-cach'; did you mean 'flush-cache'?" },
    ]);
  });

  it('reports YAML syntax errors where they are', () => {
    const text = 'title: t\ndescription: d\nmethod: [\n  {type: action\n';
    const errors = expectErrors(parseExperiment(text));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.line).toBeGreaterThanOrEqual(3);
    const dup = expectErrors(parseExperiment('title: a\ntitle: b\ndescription: d\nmethod: []\n'));
    expect(dup).toEqual([{ path: '', line: 2, column: 1, message: 'Map keys must be unique; remove or rename one of them' }]);
  });

  it('reports a JSON error at its line and column', () => {
    const text = '{\n  "title": "t",\n  "description": "d",\n  "method": [],\n  "tags": ["a", 3]\n}';
    expect(expectErrors(parseExperiment(text))).toEqual([
      { path: 'tags[1]', line: 5, column: 17, message: 'tags[1] must be a string, not the number 3' },
    ]);
  });

  it('refuses what is not an experiment at all', () => {
    expect(expectErrors(parseExperiment(''))[0]!.message).toMatch(/the file is empty/);
    expect(expectErrors(parseExperiment('- a\n- b\n'))[0]!.message).toMatch(/the file is a list/);
    expect(expectErrors(parseExperiment('title: t\ndescription: d\nmethod: []\nx: .inf\n'))[0]!.message).toMatch(/finite number/);
    expect(expectErrors(parseExperiment('__proto__: {polluted: true}\ntitle: t\ndescription: d\nmethod: []\n'))[0]!.message).toMatch(
      /unknown key '__proto__'/,
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses hostile nesting with a message instead of exhausting the stack', () => {
    for (const n of [100, 5000, 30_000]) {
      const text = `title: t\ndescription: d\nmethod: []\nruntime: ${'['.repeat(n)}${']'.repeat(n)}\n`;
      expect(expectErrors(parseExperiment(text))[0]!.message).toBe('the file nests too deeply; keep it under 64 levels');
    }
    const block = `title: t\ndescription: d\nmethod: []\nruntime:\n${Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i + 1)}k:`).join('\n')} 1\n`;
    expect(expectErrors(parseExperiment(block))[0]!.message).toBe('the file nests too deeply; keep it under 64 levels');
    const long = `title: t\ndescription: d\nmethod: []\nruntime: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    expect(expectErrors(parseExperiment(long))[0]!.message).toBe('the file is longer than 65536 characters; split it');
    const bomb =
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n';
    expect(expectErrors(parseExperiment(bomb))[0]).toMatchObject({
      line: 5,
      message: expect.stringMatching(/expands to more than 20000 values/),
    });
    // Nested through aliases: each level is shallow, the expansion is not.
    const deep = Array.from({ length: 70 }, (_, i) => (i === 0 ? 'a0: &a0 [x]' : `a${i}: &a${i} [*a${i - 1}]`)).join('\n');
    expect(expectErrors(parseExperiment(deep))[0]!.message).toBe('the file nests too deeply; keep it under 64 levels');
  });

  it('checks the file provider operations need what they use', () => {
    const text = `title: t
description: d
method:
  - type: action
    name: w
    provider: {type: file, operation: write, path: /tmp/x, find: a}
`;
    const msgs = expectErrors(parseExperiment(text)).map((e) => e.message);
    expect(msgs).toEqual(['a write needs content: the new content of the file', 'find does not apply to write; remove it']);
  });
});

function assertWellFormed(r: ParseExperimentResult, text: string): void {
  if (r.ok) return;
  expect(r.errors.length).toBeGreaterThan(0);
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const e of r.errors) {
    expect(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1).toBe(true);
    expect(Number.isInteger(e.column) && e.column >= 1).toBe(true);
    expect(typeof e.message).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.message).not.toContain('\u0000');
  }
}

const validTexts = [CHAOS_TOOLKIT_JSON, CHAOS_TOOLKIT_YAML, BULWARK_YAML];

/** Every path to a value inside a JSON value. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

describe('parseExperiment never throws (fuzz)', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => assertWellFormed(parseExperiment(s), s)),
      { numRuns: 500 },
    );
  });

  it('on arbitrary JSON and YAML values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (v, asYaml) => {
        const text = asYaml ? stringifyYaml(v) : JSON.stringify(v);
        assertWellFormed(parseExperiment(text), text);
      }),
      { numRuns: 300 },
    );
  });

  it('on valid files with a value replaced by anything', () => {
    const docs = validTexts.map((t) => parseYaml(t) as unknown);
    fc.assert(
      fc.property(
        fc.nat({ max: docs.length - 1 }),
        fc.nat(),
        fc.jsonValue({ maxDepth: 3 }),
        fc.boolean(),
        (d, which, replacement, asYaml) => {
          const doc = docs[d]!;
          const all = paths(doc);
          const mutated = setAt(doc, all[which % all.length]!, replacement);
          const text = asYaml ? stringifyYaml(mutated) : JSON.stringify(mutated, null, 2);
          assertWellFormed(parseExperiment(text), text);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('on valid files with characters inserted, deleted or lines shuffled', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8 }) }),
      fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.nat({ max: validTexts.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 }), (d, edits) => {
        let text = validTexts[d]!;
        for (const e of edits) {
          if (e.kind === 'delete') {
            const at = e.at % (text.length + 1);
            text = text.slice(0, at) + text.slice(at + e.len);
          } else if (e.kind === 'insert') {
            const at = e.at % (text.length + 1);
            text = text.slice(0, at) + e.text + text.slice(at);
          } else {
            const lines = text.split('\n');
            const a = e.a % lines.length;
            const b = e.b % lines.length;
            [lines[a], lines[b]] = [lines[b]!, lines[a]!];
            text = lines.join('\n');
          }
        }
        assertWellFormed(parseExperiment(text), text);
      }),
      { numRuns: 400 },
    );
  });
});

describe('the parsed model', () => {
  it('shares one activity object between a ref and its target', () => {
    const e = expectOk(parseExperiment(CHAOS_TOOLKIT_JSON)).experiment;
    const target = e.method[2] as Activity;
    const ref = e.rollbacks[1];
    expect(ref && 'ref' in ref && ref.activity).toBe(target);
  });
});
