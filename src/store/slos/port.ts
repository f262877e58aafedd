/** SLOs' port: applied SLO files, versioned like experiments (apply = next version; delete = tombstone). */

/** An applied SLO: the file as applied and what lists show of it. */
export interface SloRecord {
  /** `[a-z0-9-]{1,64}`: from the file (name, or OpenSLO's metadata.name). */
  name: string;
  displayName: string;
  service: string;
  format: 'bulwark/v1' | 'openslo/v1';
  /** The text as applied. */
  file: string;
  /** SHA-256 hex of the file's UTF-8 bytes. */
  fileSha256: string;
  /** 1 when first applied, one more at each change (continuing after a delete). */
  version: number;
  createdAt: string;
  updatedAt: string;
  appliedBy: string;
  /** The budget policy state the server's evaluation last recorded for this version; null before. */
  policyState: 'ok' | 'freeze' | null;
}

export type SloInput = Omit<SloRecord, 'version' | 'createdAt' | 'updatedAt' | 'policyState'>;

export interface DeletedSloRecord extends Omit<SloRecord, 'file'> {
  deletedAt: string;
  deletedBy: string;
}

export interface SloRepo {
  /**
   * Insert the SLO, or replace the one of that name as its next version, in one statement
   * (INSERT … ON CONFLICT DO UPDATE … RETURNING). A deleted name comes back as the version after
   * its last one. A new version starts with no recorded policy state.
   */
  put(s: SloInput, now: string): Promise<SloRecord>;
  /** The SLO of that name; undefined when there is none or it was deleted. */
  get(name: string): Promise<SloRecord | undefined>;
  /** Every applied SLO (deleted ones left out), by name. */
  list(): Promise<SloRecord[]>;
  /** Delete in one statement: the row stays as a tombstone (file emptied); undefined when there is nothing to delete. */
  delete(name: string, by: string, now: string): Promise<DeletedSloRecord | undefined>;
  /**
   * Record the policy state of `version` when it differs from the one recorded (compare and set in
   * one UPDATE): the previous state when this call changed it, undefined when it was already so,
   * or the SLO is deleted or at another version. Of two servers evaluating at once, one writes.
   */
  setPolicyState(name: string, version: number, state: 'ok' | 'freeze'): Promise<{ from: 'ok' | 'freeze' | null } | undefined>;
  /**
   * Record whether a burn-rate alert fires, when that differs from what was recorded (compare and
   * set): `{since}` of the state it left when this call changed it (null the first time), undefined
   * when it was already so. Of two servers evaluating at once, one announces the change.
   */
  setAlertState(slo: string, severity: 'page' | 'ticket', firing: boolean, at: string): Promise<{ since: string | null } | undefined>;
  /**
   * Record a KRI's colour when it differs from the one recorded (compare and set): the colour it
   * left and since when, when this call changed it (both null the first time), undefined when it
   * was already so. Of two servers evaluating at once, one announces the change.
   */
  setKriColour(kri: string, colour: string, at: string): Promise<{ from: string | null; since: string | null } | undefined>;
}

declare module '../store.ts' {
  interface Repos {
    slos: SloRepo;
  }
}
