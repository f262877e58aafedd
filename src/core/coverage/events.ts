/** Coverage events: its settings stored, and runs imported from other tools' logs (the map itself is read from runs and changes nothing). */
import { z } from 'zod';
import { event, type EventDefinition } from '../ledger/event-catalogue.ts';
import { CoverageSettingsSchema } from './settings.ts';

export const coverageEvents: EventDefinition[] = [
  event(
    'coverage.settings-set',
    'the coverage settings (scope, threat profiles, ages) are stored, as their next version',
    z.strictObject({ version: z.number().int(), settings: CoverageSettingsSchema }),
  ),
  event(
    'coverage.attire-imported',
    'procedures another tool executed (an ATTiRe log) are imported as runs, each with the outcome the signals gave it',
    z.strictObject({
      executionId: z.string(),
      source: z.string(),
      target: z.strictObject({ host: z.string().nullable(), ip: z.string().nullable(), user: z.string().nullable() }),
      windowSeconds: z.number().int(),
      match: z.enum(['host', 'any']),
      /** The deadline imported runs were held to, when one was given (a detection after it is detected-late). */
      deadlineSeconds: z.number().int().optional(),
      runs: z.array(
        z.strictObject({
          id: z.string(),
          technique: z.string(),
          procedure: z.string(),
          startedAt: z.string(),
          outcome: z.enum(['detected', 'detected-late', 'missed']),
          ttdMs: z.number().nullable(),
          signalId: z.string().nullable(),
        }),
      ),
      /** Procedures of the log imported before (the same run ids): left as they were. */
      skipped: z.number().int(),
    }),
  ),
];
