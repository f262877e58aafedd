/** Access's port for security keys (WebAuthn) and the single-use challenges sign-ins wait on. */

/** A person's security key or passkey: its public key and sign counter, never a private part. */
export interface WebAuthnCredentialRecord {
  /** The credential id, base64url. */
  id: string;
  principalId: string;
  name: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  aaguid: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Set when a clone was detected: the key is refused until removed. */
  suspendedAt: string | null;
}

export interface WebAuthnRepo {
  /** Insert; false when the credential id is registered already (to anyone). */
  insert(c: WebAuthnCredentialRecord): Promise<boolean>;
  get(id: string): Promise<WebAuthnCredentialRecord | undefined>;
  /** A person's keys, oldest first. */
  list(principalId: string): Promise<WebAuthnCredentialRecord[]>;
  /** Whether the person has a key that is not suspended. */
  hasActive(principalId: string): Promise<boolean>;
  /** Move the counter from `from` to `to` and note the use; false when it was no longer `from` (another answer won). */
  advance(id: string, from: number, to: number, at: string): Promise<boolean>;
  /** Suspend a key (a clone); false when there is none or it is suspended already. */
  suspend(id: string, at: string): Promise<boolean>;
  /** Remove one of the person's keys; false when the person has no such key. */
  remove(principalId: string, id: string): Promise<boolean>;
  /** Remove all of a person's keys; how many. */
  removeAll(principalId: string): Promise<number>;
}

/** A challenge a sign-in waits on (a WebAuthn challenge, an OIDC state), taken once. */
export interface AccessChallengeRecord {
  id: string;
  kind: 'webauthn' | 'oidc';
  principalId: string | null;
  purpose: string;
  /** JSON: what the answer is checked against. */
  data: string;
  createdAt: string;
  expiresAt: string;
}

export interface AccessChallengeRepo {
  insert(c: AccessChallengeRecord): Promise<void>;
  /**
   * Take a challenge once: delete it and return it when it is of this kind and purpose and has
   * not expired at `now`; undefined otherwise (unknown, taken, expired). One delete, so two
   * answers at once (or two replicas) cannot both take it.
   */
  take(id: string, kind: AccessChallengeRecord['kind'], purpose: string, now: string): Promise<AccessChallengeRecord | undefined>;
  /** Read a challenge without taking it (undefined when unknown, of another kind or purpose, or expired at `now`). */
  peek(id: string, kind: AccessChallengeRecord['kind'], purpose: string, now: string): Promise<AccessChallengeRecord | undefined>;
  /** Delete challenges that expired before `before`; how many. */
  prune(before: string): Promise<number>;
  /** How many challenges of this kind and purpose (and person, when given) have not expired at `now` (to bound what requests can store, and to count attempts). */
  countLive(kind: AccessChallengeRecord['kind'], purpose: string, now: string, principalId?: string): Promise<number>;
}

/** A person's account at the OIDC provider (the ID token's `iss` and `sub`), recorded at their first OIDC sign-in (migration 0034). */
export interface OidcLinkRecord {
  principalId: string;
  issuer: string;
  subject: string;
  createdAt: string;
}

export interface OidcLinkRepo {
  /** Record a link; false when the person, or the account, is linked already. */
  insert(l: OidcLinkRecord): Promise<boolean>;
  /** The person's link. */
  ofPrincipal(principalId: string): Promise<OidcLinkRecord | undefined>;
  /** The link of an account at the provider. */
  ofAccount(issuer: string, subject: string): Promise<OidcLinkRecord | undefined>;
}

declare module '../store.ts' {
  interface Repos {
    webauthn: WebAuthnRepo;
    accessChallenges: AccessChallengeRepo;
    oidcLinks: OidcLinkRepo;
  }
}
