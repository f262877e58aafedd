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

declare module '../schema.ts' {
  interface Database {
    slos: SlosTable;
  }
}
