/**
 * OIDC sign-in (authorization code with PKCE, state and nonce): the provider's settings, how a
 * person is matched to a principal from a claim, and the reasons a sign-in is refused. The
 * requests and the ID token's verification (jose) are in app/access/oidc.ts.
 */
import { z } from 'zod';

/** How long a sign-in may take between the redirect to the provider and its callback, and then to give a second factor. */
export const OIDC_STATE_TTL_MS = 10 * 60_000;
export const OIDC_PENDING_TTL_MS = 5 * 60_000;
/** Clock skew allowed on the ID token's times. */
export const OIDC_CLOCK_TOLERANCE_S = 60;
/** At most this many sign-ins may wait for their callback at once (each anonymous start stores one); more are refused (503). */
export const OIDC_MAX_PENDING_STATES = 10_000;
/** The callback's path on this server. */
export const OIDC_CALLBACK_PATH = '/v1/oidc/callback';

const loopback = (h: string) => h === 'localhost' || h === '127.0.0.1' || h === '[::1]';

/** https, or http on a loopback host (a provider on this machine). */
const WebUrl = (what: string) =>
  z
    .string()
    .max(500)
    .refine((s) => {
      try {
        const u = new URL(s);
        return u.protocol === 'https:' || (u.protocol === 'http:' && loopback(u.hostname));
      } catch {
        return false;
      }
    }, `${what} is an https URL (http only on localhost)`);

const PersonName = /^[a-z0-9][a-z0-9._@-]{0,62}$/;
const RoleName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a role name');

export const OidcSettingsSchema = z
  .strictObject({
    issuer: WebUrl('the issuer').describe('the provider’s issuer URL, as its ID tokens name it (its discovery document is below it)'),
    clientId: z.string().min(1).max(500),
    clientSecret: z
      .string()
      .min(1)
      .max(2000)
      .optional()
      .describe('for a confidential client (sent with HTTP Basic); PKCE is used either way'),
    redirectUri: WebUrl('the redirect URI').describe(
      `the one redirect allowed: this server's ${OIDC_CALLBACK_PATH}, as the provider has it registered`,
    ),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/, 'a scope'))
      .max(20)
      .default(['openid', 'email', 'profile']),
    claim: z.string().min(1).max(100).default('email').describe('the ID token claim whose value names the person: person:<value>'),
    createPeople: z
      .strictObject({ roles: z.array(RoleName).max(20).default([]), groups: z.array(z.string().max(100)).max(20).default([]) })
      .optional()
      .describe('create an unknown person at first sign-in with these roles and groups; without it an unknown person is refused'),
    allowedHosts: z
      .array(z.string().max(253))
      .max(20)
      .default([])
      .describe('hosts other than the issuer’s the provider’s endpoints may be on'),
  })
  .superRefine((s, ctx) => {
    if (!s.scopes.includes('openid')) ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'the scopes must include openid' });
    try {
      if (new URL(s.redirectUri).pathname !== OIDC_CALLBACK_PATH)
        ctx.addIssue({ code: 'custom', path: ['redirectUri'], message: `the redirect URI's path is ${OIDC_CALLBACK_PATH}` });
    } catch {
      /* reported by its own check */
    }
  });
export type OidcSettings = z.infer<typeof OidcSettingsSchema>;

export function parseOidcSettings(raw: unknown): { ok: true; settings: OidcSettings } | { ok: false; message: string } {
  const r = OidcSettingsSchema.safeParse(raw);
  if (r.success) return { ok: true, settings: r.data };
  return { ok: false, message: r.error.issues.map((i) => `oidc.${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** The principal a claim's value names: `person:<value>` in lower case, or why it cannot. */
export function principalFromClaim(value: unknown, claim: string): { ok: true; id: string; name: string } | { ok: false; message: string } {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, message: `the ID token has no "${claim}" claim` };
  const name = value.trim().toLowerCase();
  if (!PersonName.test(name))
    return { ok: false, message: `the "${claim}" claim is not a person's name Bulwark can hold (a-z, 0-9, . _ @ -)` };
  return { ok: true, id: `person:${name}`, name };
}

/** Whether an endpoint the provider names may be called: on the issuer's host or an allowed one, https (or http on loopback). */
export function endpointAllowed(endpoint: unknown, settings: Pick<OidcSettings, 'issuer' | 'allowedHosts'>): endpoint is string {
  if (typeof endpoint !== 'string') return false;
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return false;
  }
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && loopback(u.hostname)))) return false;
  return u.host === new URL(settings.issuer).host || settings.allowedHosts.includes(u.hostname);
}

/** The signature algorithms an ID token may use: asymmetric only (never `none`, never an HMAC keyed by the client secret). */
export const OIDC_ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/**
 * The algorithms ID tokens are verified with: those the provider advertises
 * (`id_token_signing_alg_values_supported`) that are asymmetric; RS256 (the one every provider
 * supports) when it advertises none; empty when it advertises only others (then no token verifies).
 */
export function signingAlgorithms(advertised: unknown): string[] {
  if (!Array.isArray(advertised) || advertised.length === 0) return ['RS256'];
  const allowed: readonly string[] = OIDC_ASYMMETRIC_ALGORITHMS;
  return advertised.filter((a): a is string => typeof a === 'string' && allowed.includes(a));
}

export const OIDC_FAILURES = [
  'state',
  'provider',
  'token',
  'audience',
  'issuer',
  'expired',
  'nonce',
  'signature',
  'claim',
  'unknown-person',
  'disabled',
  'link',
] as const;
export type OidcFailure = (typeof OIDC_FAILURES)[number];
