/** Coverage events: its settings stored (the map itself is read from runs and changes nothing). */
import { z } from 'zod';
import { event, type EventDefinition } from '../ledger/event-catalogue.ts';
import { CoverageSettingsSchema } from './settings.ts';

export const coverageEvents: EventDefinition[] = [
  event(
    'coverage.settings-set',
    'the coverage settings (scope, threat profiles, ages) are stored, as their next version',
    z.strictObject({ version: z.number().int(), settings: CoverageSettingsSchema }),
  ),
];
