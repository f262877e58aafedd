/** SLOs' tables. */
export interface SlosTable {
  name: string;
  display_name: string;
  service: string;
  format: string;
  /** The file as applied; emptied when deleted. */
  file: string;
  file_sha256: string;
  version: number;
  created_at: string;
  updated_at: string;
  applied_by: string;
  /** 'ok' or 'freeze' as last recorded by the server's evaluation of this version; null before. */
  policy_state: string | null;
  deleted_at: string | null;
  deleted_by: string | null;
}

/** Burn-rate alert states as last announced (migration 0012). */
export interface SloAlertStatesTable {
  slo: string;
  severity: string;
  /** 1 firing, 0 not. */
  firing: number;
  since: string;
}

/** KRI colours as last announced (migration 0020). */
export interface SloKriStatesTable {
  kri: string;
  /** green, amber, red or unknown. */
  colour: string;
  since: string;
}

declare module '../schema.ts' {
  interface Database {
    slos: SlosTable;
    slo_alert_states: SloAlertStatesTable;
    slo_kri_states: SloKriStatesTable;
  }
}
