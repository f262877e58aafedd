/**
 * Forged JSON Web Tokens (RFC 7519) against an endpoint that must refuse them: no token, a token
 * whose HS256 signature is wrong, an expired one, and one with `alg: none` (RFC 7519 §6, the
 * unsecured JWT that libraries must not accept by default). Built here with node:crypto and
 * base64url; the clock is a parameter (`now`), so the same parameters give the same tokens.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { defineTechnique, httpActivity, maybeEmptyText, parseTarget, text, timeoutSeconds, urlPath, urlUnder } from './technique.ts';
import type { Activity } from '../types.ts';

export type JwtClaims = Record<string, string | number | boolean | string[]>;

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** An HS256 JWT signed with `key` (RFC 7515 §A.1's construction). */
export function signHs256(claims: JwtClaims, key: string): string {
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

/** An unsecured JWT: header `{"alg":"none"}` and an empty signature (RFC 7519 §6.1). */
export function unsecuredJwt(claims: JwtClaims): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
}

/** The header and claims of a compact JWT, without checking anything; undefined when it is not one. */
export function decodeJwt(
  token: string,
): { header: Record<string, unknown>; claims: Record<string, unknown>; signature: string } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return { header, claims, signature: parts[2]! };
  } catch {
    return undefined;
  }
}

/** A key no real service uses: a signature made with it is wrong for every target. */
export const WRONG_KEY = 'bulwark-attack-library-wrong-key';

export type JwtCase = 'missing' | 'bad-signature' | 'expired' | 'alg-none';

export interface ForgedJwt {
  case: JwtCase;
  /** The Authorization value to send; absent for `missing`. */
  token?: string;
}

/**
 * The forged tokens for `claims` at time `now` (seconds since the epoch). The expired token is
 * signed with `signingKey` when given — then only its expiry is wrong, which is what it tests —
 * and with a wrong key otherwise.
 */
export function forgeJwts(claims: JwtClaims, now: number, cases: readonly JwtCase[], signingKey?: string): ForgedJwt[] {
  const live = { ...claims, iat: now, nbf: now, exp: now + 3600 };
  return cases.map((c): ForgedJwt => {
    switch (c) {
      case 'missing':
        return { case: c };
      case 'bad-signature':
        return { case: c, token: signHs256(live, WRONG_KEY) };
      case 'expired':
        return { case: c, token: signHs256({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, signingKey ?? WRONG_KEY) };
      case 'alg-none':
        return { case: c, token: unsecuredJwt(live) };
    }
  });
}

const CASES = ['missing', 'bad-signature', 'expired', 'alg-none'] as const;

export const forgedJwt = defineTechnique({
  id: 'auth.jwt',
  name: 'Missing, invalid, expired and alg:none JWTs',
  attack: ['T1606', 'T1550.001'],
  description:
    'Calls a protected endpoint with no token, a token with a wrong HS256 signature, an expired token and an unsigned alg:none token. Every one must be refused (401/403). Read-only; nothing to revert.',
  kind: 'http',
  secretParams: ['signingKey'],
  params: z.strictObject({
    path: urlPath().default('/api/me').describe('a protected endpoint, below the target'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET').describe('the HTTP method'),
    now: z.number().int().min(0).max(32_503_680_000).describe('the current time, seconds since the epoch (the CLI fills it in)'),
    subject: text(256).default('bulwark-probe').describe('the sub claim'),
    claims: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.union([text(512), z.number(), z.boolean(), z.array(text(128)).max(20)]))
      .refine((c) => Object.keys(c).length <= 20, { message: 'at most 20 claims' })
      .default({ role: 'admin' })
      .describe('more claims, e.g. {"role":"admin"} to also test privilege escalation'),
    cases: z
      .array(z.enum(CASES))
      .min(1)
      .max(4)
      .default([...CASES])
      .describe('which tokens to send'),
    header: text(128).default('Authorization').describe('the header carrying the token'),
    scheme: maybeEmptyText(32).default('Bearer').describe('the scheme before the token (empty for none)'),
    signingKey: text(512).optional().describe("the target's HS256 key, so that the expired token differs from a valid one only in exp"),
    timeoutSeconds: timeoutSeconds(),
  }),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const claims = { ...params.claims, sub: params.subject };
    const method: Activity[] = forgeJwts(claims, params.now, [...new Set(params.cases)], params.signingKey).map((f, i) => {
      const headers = f.token === undefined ? {} : { [params.header]: params.scheme === '' ? f.token : `${params.scheme} ${f.token}` };
      return httpActivity(`auth.jwt #${i + 1} ${f.case}`, { url, method: params.method, headers, timeoutMs: params.timeoutSeconds * 1000 });
    });
    return { method, rollbacks: [], expectHints: { blocked: [401, 403] } };
  },
});
