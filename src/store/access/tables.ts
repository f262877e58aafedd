/** Access's table: API tokens (created by the ledger's migration 0001, which came first). */
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

declare module '../schema.ts' {
  interface Database {
    tokens: TokensTable;
  }
}
