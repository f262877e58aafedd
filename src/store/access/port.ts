/** Access's port: API tokens and dashboard sessions, both stored by hash. */

export interface TokenRecord {
  id: string;
  name: string;
  /** SHA-256 of the whole token; the token itself is never stored. */
  hash: Buffer;
  principalId: string;
  principalKind: 'person' | 'service';
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** When it was last used, to the minute (absent on records written before it was kept). */
  lastUsedAt?: string | null;
}

export interface TokenRepo {
  insert(t: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** Sets revokedAt; false when no such unrevoked token. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Set lastUsedAt to `at` when it is unset or before `before`; whether it was written. */
  touchUsed(id: string, at: string, before: string): Promise<boolean>;
}

/** A dashboard session (core/access/session-format.ts): the hash of its cookie's value, never the value. */
export interface SessionRecord {
  id: string;
  hash: Buffer;
  /** The token presented to open it: the session acts as that token, and ends with it. */
  tokenId: string;
  createdAt: string;
  lastSeenAt: string;
  /** The absolute end. */
  expiresAt: string;
  revokedAt: string | null;
  /** When it last verified its second factor (step-up); null when never. */
  secondFactorAt?: string | null;
}

export interface SessionRepo {
  insert(s: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Move lastSeenAt forward (never back); false when no such open session. */
  touch(id: string, at: string): Promise<boolean>;
  /** Sets revokedAt; false when no such open session. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Delete sessions that ended before `before` (expired or revoked); how many. */
  prune(before: string): Promise<number>;
  /** Record a second factor verified now (step-up); false when no such open session. */
  markSecondFactor(id: string, at: string): Promise<boolean>;
}

/** A person or service account, with its groups and roles. */
export interface PrincipalRecord {
  /** `person:NAME` or `service:NAME`: the id its tokens name. */
  id: string;
  kind: 'person' | 'service';
  name: string;
  groups: string[];
  roles: string[];
  createdAt: string;
  createdBy: string;
  disabledAt: string | null;
}

export interface PrincipalRepo {
  /** Insert; throws when the id is taken. */
  insert(p: PrincipalRecord): Promise<void>;
  get(id: string): Promise<PrincipalRecord | undefined>;
  list(): Promise<PrincipalRecord[]>;
  /** Sets disabledAt; false when no such enabled principal. */
  disable(id: string, at: string): Promise<boolean>;
  /** The ids of its tokens not yet revoked. */
  liveTokens(id: string): Promise<string[]>;
  /** Replace its roles; false when no such principal. */
  setRoles(id: string, roles: readonly string[]): Promise<boolean>;
}

/** A person's TOTP second factor: its secret (see docs/access.md on how it is kept) and the last step accepted. */
export interface SecondFactorRecord {
  principalId: string;
  kind: 'totp';
  secret: string;
  createdAt: string;
  /** Null until a first code confirms the enrollment. */
  confirmedAt: string | null;
  lastStep: number | null;
}

export interface SecondFactorRepo {
  get(principalId: string): Promise<SecondFactorRecord | undefined>;
  /** Store a new, unconfirmed factor in place of any unconfirmed one; false when a confirmed one exists. */
  begin(f: SecondFactorRecord): Promise<boolean>;
  /** Confirm the pending factor with the step of its first code; false when there is none pending. */
  confirm(principalId: string, at: string, step: number): Promise<boolean>;
  /** Accept a step: only when it is after the last one accepted (replays lose, also across replicas). */
  useStep(principalId: string, step: number): Promise<boolean>;
  /** Remove the factor and its recovery codes; false when there was none. */
  remove(principalId: string): Promise<boolean>;
  /** Replace the recovery codes with these hashes. */
  setRecoveryCodes(principalId: string, hashes: readonly string[], at: string): Promise<void>;
  /** Use a recovery code once; false when unknown or used. */
  useRecoveryCode(principalId: string, hash: string, at: string): Promise<boolean>;
  recoveryCodesLeft(principalId: string): Promise<number>;
  /**
   * Count a refused code for this person alone: one more in the window that began at or after
   * `windowStart`, or the first of a new window beginning at `at`. The count after it (0 when the
   * person has no factor).
   */
  recordFailure(principalId: string, at: string, windowStart: string): Promise<number>;
  /**
   * Count one attempt at a code before it is checked, unless `max` are counted in the window that
   * began at or after `windowStart` already: false then (throttled), or when the person has no
   * factor. One conditional update, so many attempts at once cannot all slip under the limit.
   */
  takeAttempt(principalId: string, at: string, windowStart: string, max: number): Promise<boolean>;
  /** Uncount an attempt whose code was accepted (one, in the current window). */
  refundAttempt(principalId: string, windowStart: string): Promise<void>;
  /** Refused codes counted in the window that began at or after `windowStart` (0 when none or older). */
  failures(principalId: string, windowStart: string): Promise<number>;
  /** Every factor's stored secret (sealed, or plain from before sealing): for sealing and key rotation. */
  storedSecrets(): Promise<{ principalId: string; secret: string }[]>;
  /** Replace a factor's stored secret when it is still `from`; false when it changed or is gone. */
  replaceSecret(principalId: string, from: string, to: string): Promise<boolean>;
}

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'executed' | 'expired';

export interface ApprovalRecord {
  id: string;
  kind: string;
  resource: string;
  payloadDigest: string;
  summary: string;
  /** The policy, as JSON (core/access/approval-policy.ts). */
  policy: string;
  requestedBy: string;
  reason: string;
  requestedAt: string;
  expiresAt: string;
  state: ApprovalState;
  decidedAt: string | null;
  executedAt: string | null;
}

export interface ApprovalDecisionRecord {
  approvalId: string;
  principalId: string;
  decision: 'approve' | 'deny';
  reason: string;
  groups: string[];
  roles: string[];
  decidedAt: string;
}

export interface ApprovalRepo {
  insert(a: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Read the request and hold it until the caller's transaction ends (PostgreSQL: SELECT … FOR
   * UPDATE; SQLite's write transaction holds the database already), so deciders go one at a time
   * and each sees the decisions before it. Call it on a transaction's repos.
   */
  getForUpdate(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest first; only those in `states` when given. */
  list(opts: { states?: readonly ApprovalState[]; limit: number }): Promise<ApprovalRecord[]>;
  /** Insert a decision; false when this principal has decided this request already. */
  decide(d: ApprovalDecisionRecord): Promise<boolean>;
  decisions(approvalId: string): Promise<ApprovalDecisionRecord[]>;
  /** Compare and set the state; false when it was not `from` (another replica moved it first). */
  setState(id: string, from: ApprovalState, to: ApprovalState, at: string): Promise<boolean>;
}

export interface BreakglassRecord {
  id: string;
  principalId: string;
  permission: string;
  reason: string;
  startedAt: string;
  endsAt: string;
  reviewedBy: string | null;
  reviewedAt: string | null;
  reviewNote: string | null;
}

export interface BreakglassRepo {
  insert(b: BreakglassRecord): Promise<void>;
  get(id: string): Promise<BreakglassRecord | undefined>;
  /** Newest first; only unreviewed ones when asked. */
  list(opts: { unreviewed?: boolean; limit: number }): Promise<BreakglassRecord[]>;
  /** The principal's newest grant. */
  latest(principalId: string): Promise<BreakglassRecord | undefined>;
  /**
   * Hold the principal's breakglass until the caller's transaction ends (PostgreSQL: a
   * transaction-scoped advisory lock on the principal; SQLite's write transaction holds the
   * database already), so two at once cannot both find the last one reviewed. Call it on a
   * transaction's repos, before `latest`.
   */
  lockPrincipal(principalId: string): Promise<void>;
  /** The permissions of the principal's grants that hold at `at`. */
  activePermissions(principalId: string, at: string): Promise<string[]>;
  /** Record the review once; false when already reviewed. */
  review(id: string, by: string, at: string, note: string): Promise<boolean>;
}

/** A sealed secret: its value sealed under the key `keyId` (core/access/sealed.ts), never plain. */
export interface SecretRecord {
  name: string;
  /** 1 when first set, one more on each set. */
  version: number;
  keyId: string;
  sealed: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** What may be shown of a secret: everything but the sealed value. */
export type SecretMeta = Omit<SecretRecord, 'sealed'>;

export interface SecretRepo {
  /**
   * Take the sealing lock for the rest of the transaction: setting a secret, beginning a TOTP
   * enrollment and rotating the key take it before they seal, so that nothing is sealed under a
   * key a rotation is replacing. PostgreSQL: a transaction-scoped advisory lock; SQLite: the
   * write transaction is the lock already.
   */
  lockForSealing(): Promise<void>;
  /** A live secret (a deleted name's tombstone is not one). */
  get(name: string): Promise<SecretRecord | undefined>;
  /**
   * The last version a name had, live or deleted (0 when never set): a name set again after a
   * delete goes on from there, so an old ciphertext never matches a new version.
   */
  lastVersion(name: string): Promise<number>;
  /** By name; without the sealed values; live secrets only. */
  list(): Promise<SecretMeta[]>;
  /** Insert a new name; false when the name has a row already (a concurrent first set). */
  insert(r: SecretRecord): Promise<boolean>;
  /** Replace the value (of a live secret or a tombstone) when the stored version is still `fromVersion`; false otherwise. */
  update(r: SecretRecord, fromVersion: number): Promise<boolean>;
  /** Re-seal in place (key rotation), keeping the version, when it is still `fromVersion`. */
  reseal(name: string, fromVersion: number, keyId: string, sealed: string): Promise<boolean>;
  /** Delete a live secret, keeping its name and last version as a tombstone; false when there was none. */
  delete(name: string): Promise<boolean>;
}

/**
 * Experiment runs' stored rollbacks, as the sealing sees them (the runs are experiments' rows;
 * access re-seals them with everything else it sealed when the key rotates, and seals the rows
 * written before sealing). The text as stored, never parsed here.
 */
export interface RunRollbackSealRepo {
  /** Every run whose stored rollbacks are not empty: its id and the stored text. */
  list(): Promise<{ runId: string; rollbacks: string }[]>;
  /** Replace a run's stored rollbacks when they are still `from`; false otherwise. */
  replace(runId: string, from: string, to: string): Promise<boolean>;
}

/** A custom role (core/access/custom-roles.ts) as stored: its grants and the source of its condition. */
export interface CustomRoleRecord {
  name: string;
  /** 1 when first applied, one more at each change (a name applied again after a delete goes on). */
  version: number;
  description: string;
  grants: string[];
  /** The CEL condition's source; null when the role has none. */
  condition: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface CustomRoleRepo {
  /** A live role (a deleted name's tombstone is not one). */
  get(name: string): Promise<CustomRoleRecord | undefined>;
  /** The live roles of these names, by name (unknown names left out). */
  getMany(names: readonly string[]): Promise<CustomRoleRecord[]>;
  /** Every live role, by name. */
  list(): Promise<CustomRoleRecord[]>;
  /**
   * The live roles of these names, by name, locked until the transaction ends, so that a delete
   * and a principal given the role are one after the other, never both on what each read before
   * (PostgreSQL: FOR UPDATE, in name order; a row deleted meanwhile is not returned. SQLite: the
   * write transaction holds the database already).
   */
  lock(names: readonly string[]): Promise<CustomRoleRecord[]>;
  /** The last version a name had, live or deleted (0 when never applied). */
  lastVersion(name: string): Promise<number>;
  /**
   * Write the role when the stored version is still `fromVersion` (0: the name has no row yet, a
   * tombstone included); false otherwise (a concurrent apply won).
   */
  put(r: CustomRoleRecord, fromVersion: number): Promise<boolean>;
  /** Delete a live role still at `fromVersion`, keeping a tombstone; false otherwise. */
  delete(name: string, fromVersion: number, at: string): Promise<boolean>;
}

declare module '../store.ts' {
  interface Repos {
    tokens: TokenRepo;
    sessions: SessionRepo;
    principals: PrincipalRepo;
    secondFactors: SecondFactorRepo;
    approvals: ApprovalRepo;
    breakglass: BreakglassRepo;
    secrets: SecretRepo;
    runRollbackSeals: RunRollbackSealRepo;
    customRoles: CustomRoleRepo;
  }
}
