/**
 * WebAuthn (security keys and passkeys) as a person's second factor: the relying party's
 * settings, the life of a challenge, and the sign counter's check. The ceremonies themselves
 * (CBOR, COSE keys, signatures) are @simplewebauthn/server's, in app/access/webauthn.ts.
 */
import { z } from 'zod';

/** Where a challenge is used: registering a key, signing in, stepping up a session. */
export const WEBAUTHN_PURPOSES = ['register', 'sign-in', 'step-up'] as const;
export type WebAuthnPurpose = (typeof WEBAUTHN_PURPOSES)[number];

/** How long a challenge may be answered (the browser's own timeout is a little shorter). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** The timeout the browser is asked to keep to. */
export const CEREMONY_TIMEOUT_MS = 4 * 60_000;
/** Keys one person may hold. */
export const MAX_CREDENTIALS = 20;

const host = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An origin: scheme, host and port only; https, or http on localhost. */
const Origin = z
  .string()
  .max(300)
  .refine((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return false;
    }
    if (u.origin !== s) return false;
    return u.protocol === 'https:' || (u.protocol === 'http:' && u.hostname === 'localhost');
  }, 'an origin is scheme://host[:port] with nothing after it, https (or http://localhost…), e.g. https://bulwark.example.com');

export const WebAuthnSettingsSchema = z
  .strictObject({
    rpId: z
      .string()
      .regex(host, 'the RP ID is the site’s host name (e.g. bulwark.example.com), no scheme or port')
      .describe('the relying party ID: the host name keys are bound to'),
    rpName: z.string().min(1).max(100).default('Bulwark').describe('the name the browser shows'),
    origins: z.array(Origin).min(1).max(20).describe('the dashboard origins an answer may come from'),
  })
  .superRefine((s, ctx) => {
    for (const [i, o] of s.origins.entries()) {
      const h = new URL(o).hostname;
      if (h !== s.rpId && !h.endsWith(`.${s.rpId}`))
        ctx.addIssue({
          code: 'custom',
          path: ['origins', i],
          message: `the origin ${o} is not on the RP ID ${s.rpId} (nor a subdomain of it)`,
        });
    }
  });
export type WebAuthnSettings = z.infer<typeof WebAuthnSettingsSchema>;

/** The settings, or a message naming what to fix. */
export function parseWebAuthnSettings(raw: unknown): { ok: true; settings: WebAuthnSettings } | { ok: false; message: string } {
  const r = WebAuthnSettingsSchema.safeParse(raw);
  if (r.success) return { ok: true, settings: r.data };
  const msg = r.error.issues.map((i) => `webauthn.${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, message: msg };
}

/**
 * The sign counter (WebAuthn §6.1.1): an authenticator that counts sends a number above the last
 * one seen. Equal or lower means two authenticators share the key (a clone), unless both are 0
 * (the authenticator does not count, as synced passkeys do not).
 */
export function counterDecision(stored: number, received: number): { ok: true } | { ok: false; reason: 'counter' } {
  if (stored === 0 && received === 0) return { ok: true };
  return received > stored ? { ok: true } : { ok: false, reason: 'counter' };
}

/** A name for a key, as its owner gives it. */
export const CredentialName = z
  .string()
  .trim()
  .min(1, 'name the key (e.g. "yubikey blue")')
  .max(64, 'a key name is at most 64 characters')
  .regex(/^[^\p{Cc}]*$/u, 'a key name has no control characters');

/** A credential id as the browser sends it: base64url. */
export const CredentialId = z
  .string()
  .min(1)
  .max(1400)
  .regex(/^[A-Za-z0-9_-]+$/, 'a credential id is base64url');

/** Why an answer from an authenticator was refused (ledger `webauthn.failed`). */
export const WEBAUTHN_FAILURES = [
  'challenge',
  'origin',
  'rp',
  'signature',
  'unknown-key',
  'suspended',
  'counter',
  'malformed',
  'throttled',
] as const;
export type WebAuthnFailure = (typeof WEBAUTHN_FAILURES)[number];

export const failureMessage: Record<WebAuthnFailure, string> = {
  challenge: 'the challenge is unknown, used already or expired; ask for new options and try again',
  origin: 'the answer came from an origin this server does not accept (webauthn.origins)',
  rp: 'the answer is for another relying party (webauthn.rpId)',
  signature: 'the signature does not verify with the registered key',
  'unknown-key': 'this key is not registered to this person',
  suspended: 'this key is suspended after a cloned key was detected; its owner removes it and registers a new one',
  counter: 'the key’s sign counter went back: it may be cloned; the key is suspended',
  malformed: 'the answer is not a WebAuthn answer this server can read',
  throttled: 'too many refused security-key answers for this person in the last 15 minutes; wait, then try again',
};

const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*={0,2}$/, 'base64url');

const Transports = z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(10);

/** What `navigator.credentials.create()` answers, as JSON (@simplewebauthn/browser's startRegistration). */
export const RegistrationAnswer = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url(8_000),
    attestationObject: b64url(64_000),
    transports: Transports.optional(),
    authenticatorData: b64url(16_000).optional(),
    publicKey: b64url(4_000).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});
export type RegistrationAnswer = z.infer<typeof RegistrationAnswer>;

/** What `navigator.credentials.get()` answers, as JSON (@simplewebauthn/browser's startAuthentication). */
export const AuthenticationAnswer = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url(8_000),
    authenticatorData: b64url(16_000),
    signature: b64url(2_000),
    userHandle: b64url(200).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});
export type AuthenticationAnswer = z.infer<typeof AuthenticationAnswer>;

/** Which refusal a library error stands for (its messages name what failed). */
export function failureOf(message: string): WebAuthnFailure {
  if (/challenge/i.test(message)) return 'challenge';
  if (/origin/i.test(message)) return 'origin';
  if (/RP ?ID/i.test(message)) return 'rp';
  if (/signature/i.test(message)) return 'signature';
  return 'malformed';
}
