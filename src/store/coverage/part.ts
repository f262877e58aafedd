/** Coverage's store part: the settings document and the runs imported from other tools (the map is computed, not stored). */
import type { StorePart } from '../store-part.ts';
import { KyselyCoverageSettings } from './kysely-coverage-settings.ts';
import { KyselyExternalRuns } from './kysely-external-runs.ts';
import { coverageSettings } from './migrations/0009-coverage-settings.ts';
import { coverageExternalRuns } from './migrations/0026-coverage-external-runs.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const coverageStore: StorePart = {
  tables: [
    { name: 'coverage_settings', backup: true },
    { name: 'coverage_external_runs', backup: true },
  ],
  migrations: { '0009_coverage_settings': coverageSettings, '0026_coverage_external_runs': coverageExternalRuns },
  repos: (ctx) => ({ coverageSettings: new KyselyCoverageSettings(ctx.db), coverageExternalRuns: new KyselyExternalRuns(ctx.db) }),
  contract: async () => {
    const { coverageSettingsContract } = await import('./coverage.contract.ts');
    return (current) => coverageSettingsContract(current);
  },
};
