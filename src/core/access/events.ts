/** Access events: tokens minted and revoked, dashboard sessions opened and ended (never a secret or its hash). */
import { z } from 'zod';
import { event, id, type EventDefinition } from '../ledger/event-catalogue.ts';

export const accessEvents: EventDefinition[] = [
  event(
    'token.created',
    'a token is minted (first start, CLI, API)',
    z.strictObject({
      id,
      name: z.string().max(200),
      principal: id,
      scopes: z.array(z.string().max(200)),
      expiresAt: z.string().nullable(),
    }),
  ),
  event('token.revoked', 'a token is revoked', z.strictObject({ id, name: z.string().max(200) })),
  event(
    'session.started',
    'a dashboard session is opened with a token (its cookie is never recorded)',
    z.strictObject({ id, tokenId: id, expiresAt: z.string() }),
  ),
  event('session.ended', 'a dashboard session is signed out', z.strictObject({ id, tokenId: id })),
  event(
    'principal.created',
    'a person or service account is created, with its groups and roles',
    z.strictObject({ id, kind: z.enum(['person', 'service']), groups: z.array(id), roles: z.array(id) }),
  ),
  event(
    'principal.disabled',
    'a principal is disabled; its tokens (and so its sessions) are revoked with it',
    z.strictObject({ id, revokedTokens: z.array(id) }),
  ),
];
