/** Coverage's port: its settings document (scope, threat profiles, ages). The map itself is computed from runs and kept nowhere. */
import type { Json } from '../../core/ledger/entry.ts';

export interface CoverageSettingsRecord {
  /** The document as stored (core/coverage/settings.ts reads it). */
  settings: Json;
  /** 1 when first stored, one more at each change. */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export interface CoverageSettingsRepo {
  /** The stored settings; undefined when none were ever stored (the defaults apply). */
  get(): Promise<CoverageSettingsRecord | undefined>;
  /** Store the settings as the next version, in one statement (INSERT … ON CONFLICT DO UPDATE … RETURNING). */
  put(settings: Json, by: string, now: string): Promise<CoverageSettingsRecord>;
}

declare module '../store.ts' {
  interface Repos {
    coverageSettings: CoverageSettingsRepo;
  }
}
