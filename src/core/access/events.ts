/** Access events: tokens minted and revoked (never the token or its hash). */
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
];
