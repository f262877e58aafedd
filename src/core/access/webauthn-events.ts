/** Access's WebAuthn events: keys registered, removed, used, refused, and a clone detected (never a signature or a challenge). */
import { z } from 'zod';
import { event, id, type EventDefinition } from '../ledger/event-catalogue.ts';
import { WEBAUTHN_FAILURES, WEBAUTHN_PURPOSES } from './webauthn.ts';

const key = z.string().min(1).max(1400);
const name = z.string().max(64);

export const webauthnEvents: EventDefinition[] = [
  event(
    'webauthn.registered',
    'a person registers a security key or passkey: its id, name, transports (its public key is stored, not recorded)',
    z.strictObject({ principal: id, credential: key, name, transports: z.array(z.string().max(32)).max(10), aaguid: z.string().max(64) }),
  ),
  event(
    'webauthn.removed',
    'a security key is removed, by its owner (with a fresh second factor) or by an admin',
    z.strictObject({ principal: id, credential: key, name, how: z.string().max(200) }),
  ),
  event(
    'webauthn.verified',
    'a security key answers a challenge (sign-in or step-up); its new sign counter',
    z.strictObject({ principal: id, credential: key, purpose: z.enum(WEBAUTHN_PURPOSES), counter: z.number().int().min(0) }),
  ),
  event(
    'webauthn.failed',
    'an answer from a security key is refused: an unknown or spent challenge, another origin, a bad signature, an unknown or suspended key',
    z.strictObject({ principal: id, credential: key.nullable(), purpose: z.enum(WEBAUTHN_PURPOSES), reason: z.enum(WEBAUTHN_FAILURES) }),
  ),
  event(
    'webauthn.clone-detected',
    'a key signed with a sign counter at or below the last one seen: two authenticators hold it; it is refused and suspended',
    z.strictObject({ principal: id, credential: key, stored: z.number().int().min(0), received: z.number().int().min(0) }),
  ),
];
