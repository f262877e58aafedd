import fc from 'fast-check';
import { generateSync } from 'otplib';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';
import { DEFAULT_STEP_UP_POLICY, stepUpDecision } from './step-up.ts';
import { checkTotp, hashRecoveryCode, isRecoveryCode, mintRecoveryCodes, newTotpSecret } from './totp.ts';

const T = Date.parse('2026-03-01T10:00:05.000Z');
const at = (ms: number, secret: string) => generateSync({ secret, epoch: Math.floor(ms / 1000) });

describe('TOTP', () => {
  it('accepts the current step and one either side, refuses two, and names the step it matched', () => {
    const s = newTotpSecret();
    const step = Math.floor(T / 30_000);
    expect(checkTotp(s, at(T, s), T, null)).toEqual({ ok: true, step });
    expect(checkTotp(s, at(T - 30_000, s), T, null)).toEqual({ ok: true, step: step - 1 });
    expect(checkTotp(s, at(T + 30_000, s), T, null)).toEqual({ ok: true, step: step + 1 });
    expect(checkTotp(s, at(T - 60_000, s), T, null).ok).toBe(false);
    expect(checkTotp(s, at(T + 60_000, s), T, null).ok).toBe(false);
  });

  it('refuses a step at or before the last one accepted (replay)', () => {
    const s = newTotpSecret();
    const step = Math.floor(T / 30_000);
    expect(checkTotp(s, at(T, s), T, step)).toEqual({ ok: false, reason: 'replayed' });
    expect(checkTotp(s, at(T, s), T, step - 1).ok).toBe(true);
  });

  it('takes any text without throwing, and accepts only six digits (property)', () => {
    const s = newTotpSecret();
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (code) => {
        const r = checkTotp(s, code, T, null);
        if (!/^\d{6}$/.test(code)) expect(r).toEqual({ ok: false, reason: 'malformed' });
      }),
      { numRuns: 150 },
    );
  });

  it('mints distinct recovery codes, hashed case-insensitively', () => {
    const { codes, hashes } = mintRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(isRecoveryCode(c)).toBe(true);
    expect(hashRecoveryCode(codes[0]!.toUpperCase())).toBe(hashes[0]);
    expect(isRecoveryCode('abcd-efgh')).toBe(false);
  });
});

describe('step-up', () => {
  const p = DEFAULT_STEP_UP_POLICY;
  it('asks people with a factor for one verified within the window, and people without one only when the policy says', () => {
    const fresh = new Date(T - 9 * 60_000).toISOString();
    const stale = new Date(T - 11 * 60_000).toISOString();
    expect(stepUpDecision({ kind: 'person', enrolled: true, secondFactorAt: fresh }, T, p)).toEqual({ ok: true });
    expect(stepUpDecision({ kind: 'person', enrolled: true, secondFactorAt: stale }, T, p)).toEqual({ ok: false, reason: 'stale' });
    expect(stepUpDecision({ kind: 'person', enrolled: true }, T, p)).toEqual({ ok: false, reason: 'stale' });
    expect(stepUpDecision({ kind: 'person', enrolled: false }, T, p)).toEqual({ ok: true });
    expect(stepUpDecision({ kind: 'person', enrolled: false }, T, { ...p, require: 'people' })).toEqual({ ok: false, reason: 'enroll' });
    expect(stepUpDecision({ kind: 'service', enrolled: false }, T, { ...p, require: 'people' })).toEqual({ ok: true });
  });
});

describe('rate limit', () => {
  it('lets a burst through, then refuses with a Retry-After until the bucket refills', () => {
    const l = new RateLimiter({ perSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++) expect(l.take('k', T).ok).toBe(true);
    expect(l.take('k', T)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(l.take('other', T).ok).toBe(true);
    expect(l.take('k', T + 500).ok).toBe(true);
    expect(l.take('k', T + 500).ok).toBe(false);
  });

  it('keeps at most maxKeys buckets', () => {
    const l = new RateLimiter({ perSecond: 1, burst: 1 }, 2);
    l.take('a', T);
    l.take('b', T);
    l.take('c', T);
    // 'a' was evicted: it starts with a full bucket again.
    expect(l.take('a', T).ok).toBe(true);
  });
});
