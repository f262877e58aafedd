import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../experiment-file.ts';
import type { Activity, HttpProvider } from '../types.ts';
import { decodeJwt, forgedJwt, forgeJwts, signHs256, unsecuredJwt, WRONG_KEY } from './jwt.ts';
import { toExperimentYaml } from './render.ts';

const NOW = 1_700_000_000;

const verifies = (token: string, key: string) => {
  const [h, p, s] = token.split('.');
  return createHmac('sha256', key).update(`${h}.${p}`).digest('base64url') === s;
};

describe('forged JWTs', () => {
  it('signs HS256 exactly as the well-known jwt.io example does', () => {
    // The token jwt.io shows by default, for the secret "your-256-bit-secret".
    expect(signHs256({ sub: '1234567890', name: 'John Doe', iat: 1516239022 }, 'your-256-bit-secret')).toBe(
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    );
  });

  it('writes alg:none tokens with an empty signature (RFC 7519 §6.1)', () => {
    const t = unsecuredJwt({ sub: 'x' });
    expect(t.endsWith('.')).toBe(true);
    expect(decodeJwt(t)).toEqual({ header: { alg: 'none', typ: 'JWT' }, claims: { sub: 'x' }, signature: '' });
  });

  it('builds the four cases from the clock it is given, and the same ones every time', () => {
    const tokens = forgeJwts({ sub: 'bulwark-probe', role: 'admin' }, NOW, ['missing', 'bad-signature', 'expired', 'alg-none']);
    expect(tokens.map((t) => t.case)).toEqual(['missing', 'bad-signature', 'expired', 'alg-none']);
    expect(tokens[0]!.token).toBeUndefined();
    const bad = decodeJwt(tokens[1]!.token!)!;
    expect(bad.claims).toMatchObject({ sub: 'bulwark-probe', role: 'admin', iat: NOW, exp: NOW + 3600 });
    expect(verifies(tokens[1]!.token!, WRONG_KEY)).toBe(true);
    const expired = decodeJwt(tokens[2]!.token!)!;
    expect(expired.claims['exp']).toBeLessThan(NOW);
    expect(decodeJwt(tokens[3]!.token!)!.header['alg']).toBe('none');
    expect(forgeJwts({ sub: 'a' }, NOW, ['expired'])).toEqual(forgeJwts({ sub: 'a' }, NOW, ['expired']));
  });

  it("signs the expired token with the target's key when given, so that only its expiry is wrong", () => {
    const [expired] = forgeJwts({ sub: 'a' }, NOW, ['expired'], 'the-real-key');
    expect(verifies(expired!.token!, 'the-real-key')).toBe(true);
    const [bad] = forgeJwts({ sub: 'a' }, NOW, ['bad-signature'], 'the-real-key');
    expect(verifies(bad!.token!, 'the-real-key')).toBe(false);
  });

  it('sends each token in the Authorization header of its own request, and none for the missing case', () => {
    const parsed = parseExperiment(
      toExperimentYaml(forgedJwt, { now: NOW, path: '/api/orders' }, { target: 'http://127.0.0.1:8080', runId: 'jwt00001run' }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const sent = parsed.experiment.method.map((s) => (s as Activity).provider as HttpProvider);
    expect(sent.map((p) => p.url)).toEqual(Array(4).fill('http://127.0.0.1:8080/api/orders'));
    expect(sent[0]!.headers).toEqual({});
    for (const p of sent.slice(1)) expect(p.headers['Authorization']).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]*$/);
    expect(parsed.experiment.expect?.blocked?.tolerance).toEqual({ kind: 'list', values: [401, 403] });
  });

  it('needs the clock as a parameter rather than reading one', () => {
    expect(() => toExperimentYaml(forgedJwt, {}, { target: 'http://127.0.0.1:8080', runId: 'jwt00001run' })).toThrow(/now/);
  });
});
