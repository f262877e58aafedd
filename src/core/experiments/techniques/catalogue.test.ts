import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { DomainError } from '../../errors.ts';
import { blastRadiusViolations, effectiveBlastRadius } from '../blast-radius.ts';
import { resolveConfiguration } from '../configuration.ts';
import { parseExperiment } from '../experiment-file.ts';
import type { Activity, Experiment, HttpProvider, JsonValue, Step } from '../types.ts';
import { findTechnique, TECHNIQUES } from './catalogue.ts';
import { toExperimentYaml } from './render.ts';
import { MAX_ACTIVITIES, paramNames, parseParams, RUN_ID_KEY, type Technique, type TechniqueContext } from './technique.ts';

const RUN = 'run0000aaaa1111';
const OTHER_RUN = 'zz99yy88xx77';
const TARGET = 'https://shop.example.test:8443/shop';

/** The parameters a technique cannot default (what must be attacked, and the clock). */
const REQUIRED: Record<string, Record<string, JsonValue>> = {
  'auth.jwt': { now: 1_700_000_000 },
  'config.flip-key': { path: '/etc/nginx/modsec-main.conf', key: 'SecRuleEngine', from: 'On', to: 'Off' },
  'deception.canary-credential': { path: '/srv/app/.aws/credentials' },
  'logs.tamper': { path: '/var/log/nginx/access.log' },
};

const ctxFor = (t: Technique<any>): TechniqueContext => (t.kind === 'file' ? { runId: RUN } : { target: TARGET, runId: RUN });

function parseOk(yaml: string): Experiment {
  const r = parseExperiment(yaml);
  if (!r.ok) throw new Error(`rendered file does not parse:\n${JSON.stringify(r.errors, null, 2)}\n${yaml}`);
  return r.experiment;
}

const activityOf = (s: Step): Activity => ('ref' in s ? s.activity : s);

function resolvedWith(exp: Experiment, runId: string): Experiment {
  const r = resolveConfiguration(exp, { SHOP_TOKEN: 'token-from-env' }, { [RUN_ID_KEY]: runId });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value.experiment;
}

describe('the technique catalogue', () => {
  it('has unique ids of the form family.name and valid ATT&CK ids', () => {
    const ids = TECHNIQUES.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const t of TECHNIQUES) {
      expect(t.id).toMatch(/^[a-z]+\.[a-z-]+$/);
      expect(t.attack.length).toBeGreaterThan(0);
      for (const a of t.attack) expect(a).toMatch(/^T\d{4}(\.\d{3})?$/);
      expect(findTechnique(t.id)).toBe(t);
    }
    expect(findTechnique('web.nope')).toBeUndefined();
  });

  it('covers every family of the attack library', () => {
    const ids = TECHNIQUES.map((t) => t.id);
    for (const id of [
      'web.sqli',
      'web.xss',
      'web.path-traversal',
      'web.command-injection',
      'web.ssrf',
      'web.xxe',
      'web.header-injection',
      'auth.brute-force',
      'auth.credential-stuffing',
      'auth.jwt',
      'auth.idor',
      'exposure.sensitive-paths',
      'load.request-burst',
      'tls.check',
      'config.flip-key',
      'deception.canary-credential',
      'logs.tamper',
    ]) {
      expect(ids).toContain(id);
    }
  });

  describe.each(TECHNIQUES.map((t) => [t.id, t] as const))('%s', (_id, technique) => {
    const params = parseParams(technique, REQUIRED[technique.id] ?? {});

    it('accepts its defaults plus the required parameters', () => {
      expect(params.ok).toBe(true);
    });

    it('renders a file that parseExperiment reads back into exactly the activities it built', () => {
      if (!params.ok) throw new Error('params');
      const built = technique.build(params.params, ctxFor(technique));
      const exp = parseOk(toExperimentYaml(technique, REQUIRED[technique.id] ?? {}, ctxFor(technique)));
      expect(exp.method).toEqual(built.method);
      expect(exp.rollbacks).toEqual(built.rollbacks);
      expect(exp.techniques).toEqual(technique.attack);
      expect(exp.tags).toContain(technique.id);
      expect(exp.vendor['x-bulwark-technique']).toMatchObject({ id: technique.id });
      expect(built.method.length).toBeGreaterThan(0);
      expect(built.method.length + built.rollbacks.length).toBeLessThanOrEqual(MAX_ACTIVITIES);
    });

    it('touches nothing outside the blast radius written in its file', () => {
      const exp = parseOk(toExperimentYaml(technique, REQUIRED[technique.id] ?? {}, ctxFor(technique)));
      const resolved = resolvedWith(exp, OTHER_RUN);
      expect(exp.safety?.blastRadius).toBeDefined();
      expect(blastRadiusViolations(resolved, effectiveBlastRadius(resolved))).toEqual([]);
      for (const s of [...resolved.method, ...resolved.rollbacks]) {
        const p = activityOf(s).provider;
        if (p.type === 'http') {
          const url = new URL(p.url);
          expect(url.origin).toBe('https://shop.example.test:8443');
          expect(url.pathname.startsWith('/shop')).toBe(true);
        }
        if (p.type === 'process' && technique.kind !== 'file') {
          // Process activities (TLS) name the target host and nothing else.
          const hosts = JSON.stringify(p.arguments).match(/[a-z0-9.-]+\.test/g) ?? [];
          for (const h of hosts) expect(h).toBe('shop.example.test');
        }
      }
    });

    it('plants canaries that name the run the runner passes in, not the one it was rendered for', () => {
      const yaml = toExperimentYaml(technique, REQUIRED[technique.id] ?? {}, ctxFor(technique));
      const exp = parseOk(yaml);
      expect(exp.configuration[RUN_ID_KEY]).toEqual({ kind: 'inline', value: RUN });
      const text = JSON.stringify(resolvedWith(exp, OTHER_RUN).method);
      expect(text).not.toContain(`\${${RUN_ID_KEY}}`);
      expect(text).not.toContain(`bwk-canary-${RUN}`);
      if (yaml.includes('bwk-canary-')) expect(text).toContain(`bwk-canary-${OTHER_RUN}`);
    });

    it('says which parameter is wrong and what it may be', () => {
      const r = parseParams(technique, { ...(REQUIRED[technique.id] ?? {}), nonsense: 1 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.join('\n')).toMatch(/no parameter 'nonsense'/);
      expect(paramNames(technique).length).toBeGreaterThan(0);
    });

    it('never throws on arbitrary parameters: an error list, a build, or a DomainError naming the problem', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...paramNames(technique), 'x'), fc.anything()), (raw) => {
          const r = parseParams(technique, { ...(REQUIRED[technique.id] ?? {}), ...raw });
          if (!r.ok) {
            expect(r.errors.length).toBeGreaterThan(0);
            return;
          }
          try {
            const yaml = toExperimentYaml(technique, { ...(REQUIRED[technique.id] ?? {}), ...raw }, ctxFor(technique));
            parseOk(yaml);
          } catch (e) {
            if (!(e instanceof DomainError)) throw e;
            expect(e.code).toBe('invalid');
          }
        }),
        { numRuns: 60 },
      );
    });
  });

  it('is documented: docs/attack-library.md describes every technique with its ATT&CK ids', () => {
    const doc = readFileSync(new URL('../../../../docs/attack-library.md', import.meta.url), 'utf8');
    for (const t of TECHNIQUES) {
      expect(doc, t.id).toContain(`\`${t.id}\``);
      for (const a of t.attack) expect(doc, `${t.id} ${a}`).toContain(a);
    }
  });

  it('refuses a target it cannot confine requests to', () => {
    const t = findTechnique('web.sqli')!;
    for (const target of ['ftp://h/', 'http://user:pw@h/', 'http://h/?a=1', 'not a url', '']) {
      expect(() => toExperimentYaml(t, {}, { target, runId: RUN })).toThrow(DomainError);
    }
    expect(() => toExperimentYaml(t, {}, { runId: RUN })).toThrow(/needs a target/);
    expect(() => toExperimentYaml(t, { path: '//evil.example/x' }, { target: TARGET, runId: RUN })).toThrow(/single '\/'/);
    expect(() => toExperimentYaml(t, {}, { target: TARGET, runId: 'NOT-AN-ID' })).toThrow(/run id/);
  });

  it('keeps every request below the target path, even with dot segments', () => {
    const t = findTechnique('exposure.sensitive-paths')!;
    expect(() => toExperimentYaml(t, { paths: ['/../admin'] }, { target: TARGET, runId: RUN })).toThrow(/leaves the target's path/);
  });

  it('leaves secret parameters out of the rendered file', () => {
    const t = findTechnique('auth.jwt')!;
    const yaml = toExperimentYaml(t, { now: 1_700_000_000, signingKey: 'super-secret-hs256-key' }, { target: TARGET, runId: RUN });
    expect(yaml).not.toContain('super-secret-hs256-key');
    expect(parseYaml(yaml)['x-bulwark-technique'].params).not.toHaveProperty('signingKey');
  });

  it('reads a bearer token for IDOR from the environment, never from the file', () => {
    const t = findTechnique('auth.idor')!;
    const yaml = toExperimentYaml(
      t,
      { urlTemplate: '/api/orders/{id}', ids: [7, 'a b'], tokenEnv: 'SHOP_TOKEN' },
      { target: TARGET, runId: RUN },
    );
    const exp = parseOk(yaml);
    expect(exp.secrets).toEqual({ target: { idor_token: { kind: 'env', key: 'SHOP_TOKEN' } } });
    const resolved = resolvedWith(exp, OTHER_RUN);
    const p = activityOf(resolved.method[1]!).provider as HttpProvider;
    expect(p.url).toBe('https://shop.example.test:8443/shop/api/orders/a%20b');
    expect(p.headers).toEqual({ Authorization: 'Bearer token-from-env' });
    expect(p.secrets).toEqual(['target']);
  });

  it('omits detections when asked and applies a deadline override', () => {
    const t = findTechnique('web.sqli')!;
    const without = parseOk(toExperimentYaml(t, {}, { target: TARGET, runId: RUN }, { detect: false }));
    expect(without.expect?.detected).toEqual([]);
    expect(without.expect?.blocked?.tolerance).toEqual({ kind: 'int', value: 403 });
    const fast = parseOk(toExperimentYaml(t, {}, { target: TARGET, runId: RUN }, { within: '30s', maxDuration: '1m' }));
    expect(fast.expect?.detected[0]?.withinMs).toBe(30_000);
    expect(fast.safety?.maxDurationMs).toBe(60_000);
  });
});
