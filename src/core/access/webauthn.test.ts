/** WebAuthn's pure parts: the sign counter's clone check, the relying party's settings (fuzzed), and answers parsed or refused. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthenticationAnswer, counterDecision, failureOf, parseWebAuthnSettings } from './webauthn.ts';

describe('webauthn', () => {
  it('accepts a counter that moves forward, or two zeros; refuses one that stays or goes back', () => {
    expect(counterDecision(0, 0)).toEqual({ ok: true });
    expect(counterDecision(0, 1)).toEqual({ ok: true });
    expect(counterDecision(7, 8)).toEqual({ ok: true });
    expect(counterDecision(7, 7)).toEqual({ ok: false, reason: 'counter' });
    expect(counterDecision(7, 0)).toEqual({ ok: false, reason: 'counter' });
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (stored, received) => {
        expect(counterDecision(stored, received).ok).toBe((stored === 0 && received === 0) || received > stored);
      }),
      { numRuns: 100 },
    );
  });

  it('takes settings whose origins are on the RP ID, and names what to fix otherwise', () => {
    expect(parseWebAuthnSettings({ rpId: 'example.com', origins: ['https://bulwark.example.com'] })).toEqual({
      ok: true,
      settings: { rpId: 'example.com', rpName: 'Bulwark', origins: ['https://bulwark.example.com'] },
    });
    expect(parseWebAuthnSettings({ rpId: 'localhost', origins: ['http://localhost:7600'] }).ok).toBe(true);
    const bad = [
      [{ rpId: 'example.com', origins: ['https://evil.com'] }, /not on the RP ID/],
      [{ rpId: 'example.com', origins: ['http://example.com'] }, /https/],
      [{ rpId: 'https://example.com', origins: ['https://example.com'] }, /webauthn\.rpId: the RP ID is the site’s host name/],
      [{ rpId: 'example.com', origins: ['https://example.com/path'] }, /nothing after it/],
      [{ rpId: 'example.com', origins: [] }, /webauthn\.origins/],
      [{ rpId: 'example.com', origins: ['https://example.com'], extra: 1 }, /extra/],
    ] as const;
    for (const [raw, msg] of bad) {
      const r = parseWebAuthnSettings(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(msg);
    }
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const r = parseWebAuthnSettings(raw);
        if (!r.ok) expect(r.message).toMatch(/^webauthn\./);
      }),
      { numRuns: 150 },
    );
  });

  it('parses an answer or refuses it, never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        expect(() => AuthenticationAnswer.safeParse(raw)).not.toThrow();
      }),
      { numRuns: 150 },
    );
    expect(failureOf('Unexpected authentication response origin "x"')).toBe('origin');
    expect(failureOf('Custom challenge verifier returned false for registration response challenge "x"')).toBe('challenge');
    expect(failureOf('Unexpected RP ID hash')).toBe('rp');
    expect(failureOf('something else')).toBe('malformed');
  });
});
