/** Signal events: one entry per new signal (never a resend), without its body or raw payload. */
import { z } from 'zod';
import { event, id, isoTime, type EventDefinition } from '../ledger/event-catalogue.ts';
import { SEVERITIES } from './severity.ts';

export const signalEvents: EventDefinition[] = [
  event(
    'signal.received',
    'a new signal is stored (never a resend)',
    z.strictObject({
      id,
      source: z.string().max(200),
      fingerprint: z.string().max(128),
      severity: z.enum(SEVERITIES),
      time: isoTime,
      receivedAt: isoTime,
      resolved: z.boolean(),
      labels: z.record(z.string(), z.string()),
      runId: id.nullable(),
      rawDigest: z.string().max(128),
      redactedLabels: z.array(z.string()).optional(),
    }),
  ),
];
