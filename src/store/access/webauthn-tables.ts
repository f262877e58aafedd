/** WebAuthn keys and single-use sign-in challenges (migration 0031). */

export interface WebAuthnCredentialsTable {
  /** The credential id, base64url. */
  id: string;
  principal_id: string;
  name: string;
  /** The COSE public key, base64url. */
  public_key: string;
  counter: number;
  /** JSON array of transports (usb, nfc, ble, internal, hybrid…). */
  transports: string;
  aaguid: string;
  created_at: string;
  last_used_at: string | null;
  suspended_at: string | null;
}

export interface AccessChallengesTable {
  id: string;
  /** `webauthn` or `oidc`. */
  kind: string;
  principal_id: string | null;
  purpose: string;
  /** JSON: what the answer is checked against. */
  data: string;
  created_at: string;
  expires_at: string;
}

/** A person's account at the OIDC provider (migration 0034). */
export interface OidcLinksTable {
  principal_id: string;
  issuer: string;
  subject: string;
  created_at: string;
}

declare module '../schema.ts' {
  interface Database {
    webauthn_credentials: WebAuthnCredentialsTable;
    access_challenges: AccessChallengesTable;
    oidc_links: OidcLinksTable;
  }
}
