/** Access's tables: API tokens (created by the ledger's migration 0001, which came first), sessions. */
export interface TokensTable {
  id: string;
  name: string;
  hash: Buffer;
  principal_id: string;
  principal_kind: string;
  scopes: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Dashboard sessions (migration 0010). */
export interface SessionsTable {
  id: string;
  hash: Buffer;
  token_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** Principals (migration 0011); groups and roles as JSON arrays. */
export interface PrincipalsTable {
  id: string;
  kind: string;
  name: string;
  groups: string;
  roles: string;
  created_at: string;
  created_by: string;
  disabled_at: string | null;
}

declare module '../schema.ts' {
  interface Database {
    tokens: TokensTable;
    sessions: SessionsTable;
    principals: PrincipalsTable;
  }
}
