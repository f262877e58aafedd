/**
 * Security keys and passkeys (WebAuthn): a person registers, lists and removes their own keys
 * (/v1/webauthn/…), gets a challenge to sign in with one (/v1/session/webauthn/options, public:
 * the token is the first factor) and steps up a session with one (/v1/session/step-up/webauthn…).
 * Registering a key or removing one needs a fresh second factor when the person has one already,
 * so a stolen session cannot add its own key. The RP ID and origins come from the configuration
 * (`access.webauthn`); without them every route here answers 409 saying so.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  authenticationOptions,
  listCredentials,
  registerCredential,
  registrationOptions,
  removeCredential,
  requireAssertion,
  resetCredentials,
} from '../../app/access/webauthn.ts';
import { personOnly } from '../../app/access/second-factor.ts';
import { authenticate } from '../../app/access/tokens.ts';
import type { AppDeps } from '../../app/deps.ts';
import {
  AuthenticationAnswer,
  CredentialId,
  CredentialName,
  RegistrationAnswer,
  type WebAuthnSettings,
} from '../../core/access/webauthn.ts';
import { DomainError, invalid } from '../../core/errors.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /** Security keys: the relying party (RP ID, name, the dashboard origins). Without it, keys are off. */
    webauthn?: WebAuthnSettings;
  }
}

const Descriptor = z.object({ id: z.string(), type: z.string(), transports: z.array(z.string()).optional() });

/** What the browser passes to `navigator.credentials.create()` (@simplewebauthn/browser's startRegistration). */
export const CreationOptions = z.object({
  rp: z.object({ name: z.string(), id: z.string().optional() }),
  user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
  challenge: z.string().describe('base64url; single-use, good for five minutes'),
  pubKeyCredParams: z.array(z.object({ alg: z.number(), type: z.string() })),
  timeout: z.number().optional(),
  excludeCredentials: z.array(Descriptor).optional(),
  authenticatorSelection: z
    .object({
      authenticatorAttachment: z.string().optional(),
      requireResidentKey: z.boolean().optional(),
      residentKey: z.string().optional(),
      userVerification: z.string().optional(),
    })
    .optional(),
  attestation: z.string().optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

/** What the browser passes to `navigator.credentials.get()` (@simplewebauthn/browser's startAuthentication). */
export const RequestOptions = z.object({
  challenge: z.string().describe('base64url; single-use, good for five minutes'),
  timeout: z.number().optional(),
  rpId: z.string().optional(),
  allowCredentials: z.array(Descriptor).optional(),
  userVerification: z.string().optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

const Credential = z.object({
  id: z.string().describe('the credential id, base64url'),
  name: z.string(),
  transports: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  suspendedAt: z.string().nullable().describe('set when a clone was detected: the key is refused until removed'),
});

const Empty = z.strictObject({}).optional().describe('nothing, or an empty object');

export function webauthnRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/webauthn/credentials',
    tag: 'access',
    summary: "The caller's security keys and passkeys (never their public keys)",
    auth: { permission: 'session:read' },
    response: z.object({
      configured: z.boolean().describe('whether this server has security keys configured'),
      credentials: z.array(Credential),
    }),
    handler: async ({ principal }) => ({ configured: deps.webauthn !== undefined, credentials: await listCredentials(deps, principal.id) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/webauthn/registration/options',
    tag: 'access',
    summary: 'Begin registering a security key: the options for navigator.credentials.create(), with a fresh single-use challenge',
    auth: { permission: 'session:read' },
    body: Empty,
    response: CreationOptions,
    errors: [403, 409],
    handler: async ({ principal, reply }) => {
      void reply.header('cache-control', 'no-store');
      return (await registrationOptions(deps, deps.webauthn, principal)) as z.output<typeof CreationOptions>;
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/webauthn/credentials',
    tag: 'access',
    summary:
      "Register a security key with the browser's answer to the registration options; needs a fresh second factor when the caller has one",
    auth: { permission: 'session:read', stepUp: true },
    body: z.strictObject({
      name: CredentialName,
      response: RegistrationAnswer.describe("navigator.credentials.create()'s answer, as JSON"),
    }),
    status: 201,
    response: Credential,
    errors: [400, 403, 409],
    handler: async ({ body, principal, req }) =>
      registerCredential(deps, deps.webauthn, principal, apiActor(principal, req.id), body.name, body.response),
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/webauthn/credentials/:id',
    tag: 'access',
    summary: "Remove one of the caller's security keys; needs a fresh second factor",
    auth: { permission: 'session:read', stepUp: true },
    params: z.strictObject({ id: CredentialId }),
    response: z.object({ removed: z.boolean() }),
    errors: [403, 404],
    handler: async ({ params, principal, req }) => {
      await removeCredential(deps, principal, apiActor(principal, req.id), params.id);
      return { removed: true };
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/principals/:id/webauthn/reset',
    tag: 'access',
    summary: "Remove all of a person's security keys (lost, or one suspended as cloned); they register again",
    auth: { permission: 'principals:manage' },
    params: z.strictObject({
      id: z.string().regex(/^person:[a-z0-9][a-z0-9._@-]{0,62}$/, 'a person id is person:NAME'),
    }),
    body: Empty,
    response: z.object({ removed: z.number().int() }),
    errors: [409],
    handler: async ({ params, principal, req }) => ({ removed: await resetCredentials(deps, apiActor(principal, req.id), params.id) }),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/session/webauthn/options',
    tag: 'access',
    summary:
      'Sign in with a security key, first step: the token (the first factor) gets a single-use challenge for its person’s keys; answer it in POST /v1/session as "webauthn"',
    auth: 'public',
    priority: 'low',
    body: z.strictObject({ token: z.string().min(1).max(200).describe('an API token of a person, bwk_<id>_<secret>') }),
    response: RequestOptions,
    errors: [400, 401, 409],
    handler: async ({ body, reply }) => {
      const auth = await authenticate(deps, body.token);
      if (!auth.ok) throw new DomainError('unauthenticated', `${auth.reason}; sign in with a valid API token`);
      if (auth.principal.kind !== 'person') throw invalid('security keys are for people; a service signs in with its token alone');
      void reply.header('cache-control', 'no-store');
      return (await authenticationOptions(deps, deps.webauthn, auth.principal.id, 'sign-in')) as z.output<typeof RequestOptions>;
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/session/step-up/webauthn/options',
    tag: 'access',
    summary: 'Step up the dashboard session with a security key, first step: a single-use challenge for the caller’s keys',
    auth: { permission: 'session:read' },
    body: Empty,
    response: RequestOptions,
    errors: [400, 403, 409],
    handler: async ({ principal, reply }) => {
      personOnly(principal);
      void reply.header('cache-control', 'no-store');
      return (await authenticationOptions(deps, deps.webauthn, principal.id, 'step-up')) as z.output<typeof RequestOptions>;
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/session/step-up/webauthn',
    tag: 'access',
    summary: "Step up the dashboard session with a security key's answer: sensitive actions go ahead for the next minutes",
    auth: { permission: 'session:read' },
    body: z.strictObject({ response: AuthenticationAnswer.describe("navigator.credentials.get()'s answer, as JSON") }),
    response: z.object({ secondFactorAt: z.string() }),
    errors: [400, 403],
    handler: async ({ body, principal, req }) => {
      personOnly(principal);
      if (!principal.sessionId) throw invalid('step-up is for dashboard sessions; sign in with POST /v1/session first');
      await requireAssertion(deps, deps.webauthn, principal.id, apiActor(principal, req.id), body.response, 'step-up', 'forbidden');
      const at = deps.clock.now().toISOString();
      if (!(await deps.store.sessions.markSecondFactor(principal.sessionId, at)))
        throw new DomainError('unauthenticated', 'the session has ended; sign in again');
      principal.secondFactorAt = at;
      return { secondFactorAt: at };
    },
  });
}
