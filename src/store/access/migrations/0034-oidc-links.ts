/**
 * A person's account at the OIDC provider: the issuer and subject (`iss`, `sub`) of the ID token
 * that first signed them in. Later sign-ins match on it, so an email (or other claim) changed at
 * the provider does not move a sign-in to another person. One account per person, one person per
 * account.
 */
import type { Kysely, Migration } from 'kysely';

export function oidcLinks(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oidc_links')
        .addColumn('principal_id', 'text', (c) => c.primaryKey())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oidc_links_account').on('oidc_links').columns(['issuer', 'subject']).unique().execute();
    },
  };
}
