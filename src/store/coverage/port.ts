/**
 * Coverage's port: its settings document (scope, threat profiles, ages) and the runs imported
 * from other tools' logs. The map itself is computed from runs and kept nowhere.
 */
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

/** A procedure another tool executed (an ATTiRe log's), with the outcome Bulwark's signals gave it. */
export interface ExternalRunRecord {
  id: string;
  format: 'attire';
  executionId: string;
  /** The tool that ran it (`Invoke-Atomicredteam`). */
  source: string;
  procedure: string;
  procedureId: string | null;
  technique: string;
  target: { host: string | null; ip: string | null; user: string | null };
  startedAt: string;
  endedAt: string;
  outcome: 'detected' | 'detected-late' | 'missed';
  ttdMs: number | null;
  signalId: string | null;
  importedAt: string;
  importedBy: string;
}

export interface ExternalRunRepo {
  /** Insert runs, skipping ids already stored; one answer per input, in order: true when written now. */
  insertMany(runs: readonly ExternalRunRecord[]): Promise<boolean[]>;
  /** Every imported run, oldest first (by start, then id). */
  list(): Promise<ExternalRunRecord[]>;
}

declare module '../store.ts' {
  interface Repos {
    coverageSettings: CoverageSettingsRepo;
    coverageExternalRuns: ExternalRunRepo;
  }
}
