/** Coverage's tables: its settings document (migration 0009) and the runs imported from other tools (0026). */
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

export interface CoverageExternalRunTable {
  /** `[a-z0-9]{16}`, derived from the log (core/coverage/attire.ts attireRunId): the same on a second import. */
  id: string;
  /** `attire`. */
  format: string;
  execution_id: string;
  source: string;
  procedure: string;
  procedure_id: string | null;
  technique: string;
  /** JSON text: host, ip, user. */
  target: string;
  started_at: string;
  ended_at: string;
  /** `detected` or `missed`. */
  outcome: string;
  ttd_ms: number | null;
  /** The signal matched as its detection. */
  signal_id: string | null;
  imported_at: string;
  imported_by: string;
}

declare module '../schema.ts' {
  interface Database {
    coverage_settings: CoverageSettingsTable;
    coverage_external_runs: CoverageExternalRunTable;
  }
}
