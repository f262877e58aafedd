/** Access's port: API tokens, stored by hash. */

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

declare module '../store.ts' {
  interface Repos {
    tokens: TokenRepo;
  }
}
