/** Coverage's table: its settings document (migration 0009). */
export interface CoverageSettingsTable {
  /** Always `default`: one document per database. */
  id: string;
  /** JSON text of the settings (core/coverage/settings.ts). */
  settings: string;
  version: number;
  updated_at: string;
  /** Who stored it, as the ledger labels actors. */
  updated_by: string;
}

declare module '../schema.ts' {
  interface Database {
    coverage_settings: CoverageSettingsTable;
  }
}
