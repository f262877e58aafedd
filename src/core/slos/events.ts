/** SLO events: files applied and deleted (the file's digest, never the file), and changes of budget policy state. */
import { z } from 'zod';
import { event, type EventDefinition } from '../ledger/event-catalogue.ts';

const name = z.string().max(64);
const sha256 = z.string().max(64);

export const sloEvents: EventDefinition[] = [
  event(
    'slo.applied',
    'an SLO file is applied (not when the same file is applied again)',
    z.strictObject({
      name,
      version: z.number().int(),
      sha256,
      format: z.enum(['bulwark/v1', 'openslo/v1']),
      objective: z.number(),
      window: z.string().max(200),
      sli: z.string().max(40),
    }),
  ),
  event('slo.deleted', 'an SLO is deleted', z.strictObject({ name, version: z.number().int(), sha256, by: z.string().max(400) })),
  event(
    'slo.policy.changed',
    "the server's periodic evaluation finds an SLO's budget policy in another state than it last recorded",
    z.strictObject({
      name,
      version: z.number().int(),
      from: z.enum(['ok', 'freeze']).nullable(),
      to: z.enum(['ok', 'freeze']),
      why: z.string().max(1000),
      remaining: z.number(),
    }),
  ),
];
