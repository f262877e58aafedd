/** Access's OIDC events: a sign-in through the provider accepted or refused (never a code, a token or a nonce). */
import { z } from 'zod';
import { event, id, type EventDefinition } from '../ledger/event-catalogue.ts';
import { OIDC_FAILURES } from './oidc.ts';

export const oidcEvents: EventDefinition[] = [
  event(
    'oidc.signed-in',
    'a person signed in through the OIDC provider: the issuer and subject of the ID token, the principal it matched (and whether it was created)',
    z.strictObject({ principal: id, issuer: z.string().max(500), subject: z.string().max(500), created: z.boolean() }),
  ),
  event(
    'oidc.linked',
    "a person's account at the OIDC provider (the ID token's issuer and subject) recorded at their first OIDC sign-in: later sign-ins must come from it",
    z.strictObject({ principal: id, issuer: z.string().max(500), subject: z.string().max(500) }),
  ),
  event(
    'oidc.refused',
    'a sign-in through the OIDC provider is refused: a spent or unknown state, the provider unreachable, an ID token with another audience or issuer, expired, a wrong nonce or signature, or an unknown person',
    z.strictObject({ reason: z.enum(OIDC_FAILURES), issuer: z.string().max(500), subject: z.string().max(500).nullable() }),
  ),
];
