/** OIDC's pure parts: the provider's settings (fuzzed), a person from a claim, which endpoints may be called. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointAllowed, parseOidcSettings, principalFromClaim } from './oidc.ts';

const base = { issuer: 'https://id.example.com', clientId: 'bulwark', redirectUri: 'https://bulwark.example.com/v1/oidc/callback' };

describe('oidc settings', () => {
  it('takes a provider with defaults, and names what to fix', () => {
    const r = parseOidcSettings(base);
    expect(r).toEqual({ ok: true, settings: { ...base, scopes: ['openid', 'email', 'profile'], claim: 'email', allowedHosts: [] } });
    const bad = [
      [{ ...base, issuer: 'http://id.example.com' }, /oidc\.issuer: the issuer is an https URL/],
      [
        { ...base, redirectUri: 'https://bulwark.example.com/elsewhere' },
        /oidc\.redirectUri: the redirect URI's path is \/v1\/oidc\/callback/,
      ],
      [{ ...base, scopes: ['email'] }, /oidc\.scopes: the scopes must include openid/],
      [{ ...base, createPeople: { roles: ['Admin!'] } }, /oidc\.createPeople\.roles\.0/],
      [{ ...base, clientSecretFile: 'x' }, /clientSecretFile/],
    ] as const;
    for (const [raw, msg] of bad) {
      const p = parseOidcSettings(raw);
      expect(p.ok).toBe(false);
      if (!p.ok) expect(p.message).toMatch(msg);
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            issuer: fc.oneof(fc.string(), fc.constantFrom('https://a.example', 'http://localhost:1')),
            clientId: fc.string(),
            redirectUri: fc.string(),
          }),
        ),
        (raw) => {
          const p = parseOidcSettings(raw);
          if (!p.ok) expect(p.message).toMatch(/^oidc\./);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('names a person from a claim, or says why not', () => {
    expect(principalFromClaim('Ada@Example.com', 'email')).toEqual({ ok: true, id: 'person:ada@example.com', name: 'ada@example.com' });
    expect(principalFromClaim(undefined, 'email')).toEqual({ ok: false, message: 'the ID token has no "email" claim' });
    expect(principalFromClaim('a b', 'preferred_username').ok).toBe(false);
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const r = principalFromClaim(v, 'email');
        if (r.ok) expect(r.id).toMatch(/^person:[a-z0-9][a-z0-9._@-]{0,62}$/);
      }),
      { numRuns: 150 },
    );
  });

  it('calls endpoints only on the issuer’s host or an allowed one, over https (http on loopback)', () => {
    const s = { issuer: 'https://id.example.com', allowedHosts: ['keys.example.net'] };
    expect(endpointAllowed('https://id.example.com/token', s)).toBe(true);
    expect(endpointAllowed('https://keys.example.net/jwks', s)).toBe(true);
    expect(endpointAllowed('https://evil.example/jwks', s)).toBe(false);
    expect(endpointAllowed('http://id.example.com/token', s)).toBe(false);
    expect(endpointAllowed(42, s)).toBe(false);
    expect(endpointAllowed('http://127.0.0.1:9/token', { issuer: 'http://127.0.0.1:9', allowedHosts: [] })).toBe(true);
  });
});
