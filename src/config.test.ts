import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadConfig } from './config.ts';
import { DomainError } from './core/errors.ts';
import { tmpDir } from '../test/support/tmp.ts';

describe('configuration', () => {
  it('takes flags over environment over file over defaults', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(file, 'port: 7000\nhost: 0.0.0.0\nlogLevel: warn\ncheckpoint:\n  intervalSeconds: 5\n');
    const c = loadConfig({ config: file, port: '7002' }, { BULWARK_PORT: '7001', BULWARK_HOST: '::1' });
    expect(c).toMatchObject({ port: 7002, host: '::1', logLevel: 'warn', checkpoint: { intervalSeconds: 5, keyName: 'bulwark' } });
    expect(c.db).toBe('sqlite:' + path.join('.bulwark', 'bulwark.db'));
    expect(Object.isFrozen(c)).toBe(true);
    await d.cleanup();
  });

  it('names the setting that is wrong', () => {
    expect(() => loadConfig({ port: 'eighty' }, {})).toThrow(/port/);
    expect(() => loadConfig({}, { BULWARK_LOG_LEVEL: 'loud' })).toThrow(/logLevel/);
  });

  it('rejects unknown keys and non-mapping files with an invalid error', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'c.yaml');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ extra: v })),
        ),
        (text) => {
          writeFileSync(file, text);
          try {
            loadConfig({ config: file }, {});
          } catch (e) {
            expect(e).toBeInstanceOf(DomainError);
          }
        },
      ),
      { numRuns: 300 },
    );
    await d.cleanup();
  });
});

describe('signals configuration', () => {
  it('reads webhook mappings under their source name and the log files to tail', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(
      file,
      [
        'signals:',
        '  webhooks:',
        '    wazuh:',
        '      id: $.id',
        '      time: $.timestamp',
        '      severity: $.rule.level',
        '      severityMap: { "7": high }',
        '      labels: { rule: $.rule.id }',
        '  files:',
        '    - { path: /var/log/modsec_audit.log, format: modsecurity, source: waf }',
        '    - { path: /var/log/nginx/access.log, format: nginx, startAt: beginning }',
      ].join('\n'),
    );
    const c = loadConfig({ config: file }, {});
    expect(c.signals.webhooks.wazuh).toMatchObject({ source: 'wazuh', id: { text: '$.id' }, severityMap: { '7': 'high' } });
    expect(c.signals.files).toEqual([
      { path: '/var/log/modsec_audit.log', format: 'modsecurity', source: 'waf', startAt: 'end' },
      { path: '/var/log/nginx/access.log', format: 'nginx', startAt: 'beginning' },
    ]);
    expect(Object.isFrozen(c.signals)).toBe(true);
    expect(loadConfig({}, {}).signals).toEqual({ webhooks: {}, files: [] });
    await d.cleanup();
  });

  it('fails at start on a bad mapping or file, naming the path of the bad key', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    const cases: [string, RegExp][] = [
      ['signals:\n  webhooks:\n    wazuh:\n      severity: "$.["\n', /signals\.webhooks\.wazuh\.severity: invalid path/],
      ['signals:\n  webhooks:\n    wazuh:\n      labels: { "bad name": $.x }\n', /signals\.webhooks\.wazuh\.labels\.bad name: label names/],
      ['signals:\n  webhooks:\n    wazuh:\n      idd: $.x\n', /signals\.webhooks\.wazuh/],
      ['signals:\n  webhooks:\n    Wazuh: {}\n', /signals\.webhooks\.Wazuh\.source: must be 1–63 characters/],
      ['signals:\n  webhooks:\n    wazuh: { source: other }\n', /signals\.webhooks\.wazuh\.source: must be "wazuh"/],
      ['signals:\n  webhooks:\n    wazuh: 3\n', /signals\.webhooks\.wazuh: must be a mapping/],
      ['signals:\n  files:\n    - { path: /a.log, format: syslog }\n', /signals\.files\.0\.format/],
      [
        'signals:\n  files:\n    - { path: /a.log, format: nginx }\n    - { path: /a.log, format: auditd }\n',
        /signals\.files\.1\.path: \/a\.log is listed twice/,
      ],
      ['signals:\n  files:\n    - { path: /a.log, format: nginx, source: "Bad Source" }\n', /signals\.files\.0\.source/],
      ['signals:\n  nope: 1\n', /signals/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(file, text);
      expect(() => loadConfig({ config: file }, {}), text).toThrow(message);
    }
    await d.cleanup();
  });

  it("keeps the per-target limit per process unless told 'database'", async () => {
    expect(loadConfig({}, {}).experiments.perTargetLimitScope).toBeUndefined();
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(file, 'experiments:\n  perTargetLimit: 2\n  perTargetLimitScope: database\n');
    expect(loadConfig({ config: file }, {}).experiments).toMatchObject({ perTargetLimit: 2, perTargetLimitScope: 'database' });
    writeFileSync(file, 'experiments:\n  perTargetLimitScope: cluster\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/experiments\.perTargetLimitScope/);
    await d.cleanup();
  });

  it('allows no process or file provider on the server by default, and takes only absolute paths for the allow-lists', async () => {
    expect(loadConfig({}, {}).experiments).toEqual({ allowExecutables: [], allowPaths: [], perTargetLimit: 8 });
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(file, 'experiments:\n  allowExecutables: [/usr/bin/true]\n  allowPaths: [/srv/shop]\n  perTargetLimit: 2\n');
    expect(loadConfig({ config: file }, {}).experiments).toEqual({
      allowExecutables: ['/usr/bin/true'],
      allowPaths: ['/srv/shop'],
      perTargetLimit: 2,
    });
    writeFileSync(file, 'experiments:\n  allowExecutables: [true]\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/experiments\.allowExecutables\.0/);
    writeFileSync(file, 'experiments:\n  allowPaths: [srv/shop]\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/experiments\.allowPaths\.0: must be an absolute path/);
    await d.cleanup();
  });

  it('takes executables with the variables and arguments they may get, and refuses a loader or interpreter variable at start', async () => {
    const d = await tmpDir('bulwark-config-');
    const file = path.join(d.path, 'bulwark.yaml');
    writeFileSync(
      file,
      [
        'experiments:',
        '  allowExecutables:',
        '    - /bin/true',
        '    - path: /usr/bin/curl',
        "      env: [HTTPS_PROXY, {name: NO_PROXY, pattern: '127\\.0\\.0\\.1'}]",
        '      args:',
        '        - exact: [-sS, http://127.0.0.1:8080/health]',
        "        - patterns: [-sS, 'https?://127\\.0\\.0\\.1(:\\d+)?/.*']",
        '',
      ].join('\n'),
    );
    const c = loadConfig({ config: file }, {});
    expect(c.experiments.allowExecutables).toEqual([
      '/bin/true',
      {
        path: '/usr/bin/curl',
        env: [{ name: 'HTTPS_PROXY' }, { name: 'NO_PROXY', pattern: '127\\.0\\.0\\.1' }],
        args: [{ exact: ['-sS', 'http://127.0.0.1:8080/health'] }, { patterns: ['-sS', 'https?://127\\.0\\.0\\.1(:\\d+)?/.*'] }],
      },
    ]);
    expect(Object.isFrozen(c.experiments.allowExecutables)).toBe(true);

    writeFileSync(file, 'experiments:\n  allowExecutables:\n    - {path: /bin/true, env: [LD_PRELOAD]}\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(
      /experiments\.allowExecutables\.0\.env\.0: LD_PRELOAD can never be allowed: the dynamic loader .*; remove it/,
    );
    writeFileSync(file, 'experiments:\n  allowExecutables:\n    - {path: /bin/sh, env: [PATH]}\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/experiments\.allowExecutables\.0\.env\.0: PATH can never be allowed/);
    writeFileSync(file, 'experiments:\n  allowExecutables:\n    - {path: /bin/echo, args: [{each: "[a-z"}]}\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(
      /experiments\.allowExecutables\.0\.args\.0\.each: is not a valid regular expression/,
    );
    writeFileSync(file, 'experiments:\n  allowExecutables:\n    - {path: /bin/echo, cwd: /tmp}\n');
    expect(() => loadConfig({ config: file }, {})).toThrow(/experiments\.allowExecutables\.0\.cwd: unknown key 'cwd'/);
    await d.cleanup();
  });
});
