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
}

export interface TokenRepo {
  insert(t: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** Sets revokedAt; false when no such unrevoked token. */
  revoke(id: string, at: string): Promise<boolean>;
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
}

declare module '../store.ts' {
  interface Repos {
    tokens: TokenRepo;
    sessions: SessionRepo;
    principals: PrincipalRepo;
  }
}
