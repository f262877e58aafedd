/**
 * Security keys and passkeys (WebAuthn) of people: each key's public key (COSE, base64url), sign
 * counter and transports, and when a clone suspended it. And the challenges a sign-in waits on,
 * single-use and short-lived: WebAuthn's, and an OIDC sign-in's state (with its nonce and PKCE
 * verifier), each taken once by a delete.
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

export function webauthn(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('webauthn_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', t.bigint, (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('suspended_at', 'text')
        .execute();
      await db.schema.createIndex('webauthn_credentials_principal').on('webauthn_credentials').column('principal_id').execute();
      await db.schema
        .createTable('access_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text')
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
