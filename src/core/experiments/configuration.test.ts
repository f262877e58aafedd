import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { REDACTED, redactSecrets, resolveConfiguration, sealedSecretNames, substituteString } from './configuration.ts';
import { parseExperiment } from './experiment-file.ts';
import type { Experiment, HttpProvider, ProcessProvider } from './types.ts';

function load(text: string): Experiment {
  const r = parseExperiment(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.experiment;
}

const FILE = `title: t
description: d
configuration:
  base_url: {type: env, key: SHOP_URL, default: "http://127.0.0.1:8080"}
  port: {type: env, key: SHOP_PORT, env_var_type: int}
  user: alice
secrets:
  shop:
    token: {type: env, key: SHOP_TOKEN}
    password: inline-pass-123
steady-state-hypothesis:
  title: h
  probes:
    - type: probe
      name: up
      tolerance: {type: regex, pattern: "^\${user}$", target: body}
      provider:
        type: http
        url: \${base_url}/health
        headers: {Authorization: "Bearer \${token}", X-Port: "\${port}"}
method:
  - type: action
    name: login
    provider:
      type: http
      method: POST
      url: \${base_url}/login
      arguments: {user: "\${user}", port: "\${port}", note: "price $$5"}
  - type: action
    name: curl
    provider:
      type: process
      path: curl
      arguments: ["-u", "\${user}:\${password}", "\${base_url}:\${port}"]
  - ref: up
`;

describe('resolveConfiguration', () => {
  it('reads the environment, applies defaults and types, and substitutes ${name}', () => {
    const r = resolveConfiguration(load(FILE), { SHOP_PORT: '8443', SHOP_TOKEN: 'tok-abcdef' }, {});
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const { configuration, secrets, experiment } = r.value;
    expect(configuration).toEqual({ base_url: 'http://127.0.0.1:8080', port: 8443, user: 'alice' });
    expect(secrets).toEqual({ shop: { token: 'tok-abcdef', password: 'inline-pass-123' } });
    const probe = experiment.steadyStateHypothesis!.probes[0]!;
    expect(probe.provider).toMatchObject({
      url: 'http://127.0.0.1:8080/health',
      headers: { Authorization: 'Bearer tok-abcdef', 'X-Port': '8443' },
    });
    expect(probe.tolerance).toEqual({ kind: 'regex', pattern: '^alice$', target: 'body' });
    // In a payload a lone ${port} keeps its type, as Chaos Toolkit does; $$ is a literal $.
    expect((experiment.method[0] as { provider: HttpProvider }).provider.arguments).toEqual({
      user: 'alice',
      port: 8443,
      note: 'price $5',
    });
    expect((experiment.method[1] as { provider: ProcessProvider }).provider.arguments).toEqual({
      kind: 'argv',
      argv: ['-u', 'alice:inline-pass-123', 'http://127.0.0.1:8080:8443'],
    });
    // A ref runs the resolved activity, not the template.
    const ref = experiment.method[2];
    expect(ref && 'ref' in ref ? ref.activity : undefined).toBe(probe);
  });

  it('lets --var override configuration, with an optional :int or :float type, and adds new keys', () => {
    const r = resolveConfiguration(load(FILE), { SHOP_TOKEN: 't' }, { 'port:int': '9000', base_url: 'https://shop.test', extra: 'x' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.value.configuration).toEqual({ base_url: 'https://shop.test', port: 9000, user: 'alice', extra: 'x' });
  });

  it('says which environment variable is missing and how to provide it', () => {
    const r = resolveConfiguration(load(FILE), {}, {});
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          path: 'configuration.port',
          message: 'configuration port reads environment variable SHOP_PORT, which is not set; set it, add a default, or pass --var port=…',
        },
        {
          path: 'secrets.shop.token',
          message: 'secret shop.token reads environment variable SHOP_TOKEN, which is not set; set it before the run',
        },
      ],
    });
  });

  it('refuses values that do not convert to the declared type', () => {
    const r = resolveConfiguration(load(FILE), { SHOP_PORT: 'eighty', SHOP_TOKEN: 't' }, { 'n:float': 'abc' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.message)).toEqual([
        "--var n:float=abc: 'abc' is not a number",
        "environment variable SHOP_PORT: 'eighty' is not an integer",
      ]);
    }
  });

  it('refuses an undefined ${name} rather than sending it literally', () => {
    const text = `title: t
description: d
method:
  - type: action
    name: a
    provider: {type: http, url: "http://h/\${nope}"}
`;
    const r = resolveConfiguration(load(text), {}, {});
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          path: 'method[0].provider.url',
          message:
            '${nope} is not defined; declare nope under configuration or secrets, or pass --var nope=… (write $${nope} for a literal)',
        },
      ],
    });
  });

  it('checks the URL again once configuration is applied', () => {
    const text = `title: t
description: d
configuration: {base: "not a url"}
method:
  - type: action
    name: a
    provider: {type: http, url: "\${base}/x"}
`;
    const r = resolveConfiguration(load(text), {}, {});
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors[0]).toEqual({
        path: 'method[0].provider.url',
        message: "url 'not a url/x' must be an absolute http(s) URL once configuration is applied",
      });
  });
});

describe('substituteString', () => {
  const lookup = (name: string) => (name === 'n' ? { found: true as const, value: 5 } : { found: false as const });
  it('leaves text without references unchanged', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('$')),
        (s) => {
          expect(substituteString(s, lookup, true, () => undefined)).toBe(s);
        },
      ),
    );
  });
  it('types a lone reference only where asked', () => {
    expect(substituteString('${n}', lookup, true, () => undefined)).toBe(5);
    expect(substituteString('${n}', lookup, false, () => undefined)).toBe('5');
    expect(substituteString('a${n}b$$c', lookup, true, () => undefined)).toBe('a5b$c');
  });
});

describe('redactSecrets', () => {
  const secrets = { shop: { token: 'tok-abcdef', pin: '42', nested: { key: 'deep-secret' } } };

  it('replaces every secret value, inside text too, at any depth', () => {
    const journal = {
      activity: { headers: { Authorization: 'Bearer tok-abcdef' } },
      output: { stdout: 'token=tok-abcdef; other=tok-abcdef', list: ['deep-secret', 42, '42', 'x42x'] },
    };
    expect(redactSecrets(journal, secrets)).toEqual({
      activity: { headers: { Authorization: `Bearer ${REDACTED}` } },
      output: { stdout: `token=${REDACTED}; other=${REDACTED}`, list: [REDACTED, REDACTED, REDACTED, 'x42x'] },
    });
  });

  it('leaves no secret of four characters or more anywhere in the output', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4, maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), fc.string(), (secret, value, around) => {
        fc.pre(!REDACTED.includes(secret) && !secret.includes(REDACTED));
        const input = { value, text: `${around}${secret}${around}` };
        const out = JSON.stringify(redactSecrets(input, { s: { k: secret } }));
        // Split on the marker: a secret formed by the marker and its neighbours is not a leak.
        const pieces = (JSON.parse(out) as { text: string }).text.split(REDACTED);
        for (const piece of pieces) expect(piece).not.toContain(secret);
      }),
    );
  });

  it('returns the value unchanged when there are no secrets', () => {
    const v = { a: 1 };
    expect(redactSecrets(v, {})).toBe(v);
  });
});

describe('sealed secrets named in a file', () => {
  it('takes the values the caller opened, and names the fix for one that is not set', () => {
    const file = `title: t
description: d
secrets:
  shop:
    token: { type: sealed, name: shop.token }
    other: { type: sealed, name: shop.token }
method:
  - type: action
    name: a
    provider: { type: http, url: 'http://127.0.0.1:1/\${token}' }
`;
    const parsed = parseExperiment(file);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed));
    expect(sealedSecretNames(parsed.experiment)).toEqual(['shop.token']);
    const ok = resolveConfiguration(parsed.experiment, {}, {}, { 'shop.token': 's3cr3t' });
    expect(ok.ok && ok.value.secrets).toEqual({ shop: { token: 's3cr3t', other: 's3cr3t' } });
    const missing = resolveConfiguration(parsed.experiment, {}, {});
    expect(!missing.ok && missing.errors[0]?.message).toContain('bulwark secrets set shop.token');
    const bad = parseExperiment(file.replace('name: shop.token }', 'name: Shop Token }'));
    expect(!bad.ok && JSON.stringify(bad)).toContain('a sealed secret needs name');
  });
});
