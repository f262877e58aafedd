/** Coverage's store part: the settings document (the map is computed from runs, not stored). */
import type { StorePart } from '../store-part.ts';
import { KyselyCoverageSettings } from './kysely-coverage-settings.ts';
import { coverageSettings } from './migrations/0009-coverage-settings.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const coverageStore: StorePart = {
  tables: [{ name: 'coverage_settings', backup: true }],
  migrations: { '0009_coverage_settings': coverageSettings },
  repos: (ctx) => ({ coverageSettings: new KyselyCoverageSettings(ctx.db) }),
  contract: async () => {
    const { coverageSettingsContract } = await import('./coverage.contract.ts');
    return (current) => coverageSettingsContract(current);
  },
};
