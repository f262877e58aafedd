/** Security keys and single-use challenges: counters moved and challenges taken by conditional statements, so two replicas cannot both accept one answer. */
import type { Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { Db } from '../kysely/util.ts';
import type {
  AccessChallengeRecord,
  AccessChallengeRepo,
  OidcLinkRecord,
  OidcLinkRepo,
  WebAuthnCredentialRecord,
  WebAuthnRepo,
} from './webauthn-port.ts';

export class KyselyWebAuthn implements WebAuthnRepo {
  constructor(private readonly db: Db) {}

  async insert(c: WebAuthnCredentialRecord): Promise<boolean> {
    const r = await this.db
      .insertInto('webauthn_credentials')
      .values({
        id: c.id,
        principal_id: c.principalId,
        name: c.name,
        public_key: c.publicKey,
        counter: c.counter,
        transports: JSON.stringify(c.transports),
        aaguid: c.aaguid,
        created_at: c.createdAt,
        last_used_at: c.lastUsedAt,
        suspended_at: c.suspendedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async get(id: string): Promise<WebAuthnCredentialRecord | undefined> {
    const r = await this.db.selectFrom('webauthn_credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  async list(principalId: string): Promise<WebAuthnCredentialRecord[]> {
    const rows = await this.db
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('principal_id', '=', principalId)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toRecord);
  }

  async hasActive(principalId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('webauthn_credentials')
      .select('id')
      .where('principal_id', '=', principalId)
      .where('suspended_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async advance(id: string, from: number, to: number, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('webauthn_credentials')
      .set({ counter: to, last_used_at: at })
      .where('id', '=', id)
      .where('counter', '=', from)
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async suspend(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('webauthn_credentials')
      .set({ suspended_at: at })
      .where('id', '=', id)
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(principalId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('webauthn_credentials')
      .where('principal_id', '=', principalId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async removeAll(principalId: string): Promise<number> {
    const r = await this.db.deleteFrom('webauthn_credentials').where('principal_id', '=', principalId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export class KyselyAccessChallenges implements AccessChallengeRepo {
  constructor(private readonly db: Db) {}

  async insert(c: AccessChallengeRecord): Promise<void> {
    await this.db
      .insertInto('access_challenges')
      .values({
        id: c.id,
        kind: c.kind,
        principal_id: c.principalId,
        purpose: c.purpose,
        data: c.data,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
      })
      .execute();
  }

  async take(id: string, kind: AccessChallengeRecord['kind'], purpose: string, now: string): Promise<AccessChallengeRecord | undefined> {
    const r = await this.db
      .deleteFrom('access_challenges')
      .where('id', '=', id)
      .where('kind', '=', kind)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return r ? toChallenge(r) : undefined;
  }

  async peek(id: string, kind: AccessChallengeRecord['kind'], purpose: string, now: string): Promise<AccessChallengeRecord | undefined> {
    const r = await this.db
      .selectFrom('access_challenges')
      .selectAll()
      .where('id', '=', id)
      .where('kind', '=', kind)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r ? toChallenge(r) : undefined;
  }

  async prune(before: string): Promise<number> {
    const r = await this.db.deleteFrom('access_challenges').where('expires_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async countLive(kind: AccessChallengeRecord['kind'], purpose: string, now: string, principalId?: string): Promise<number> {
    let q = this.db
      .selectFrom('access_challenges')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('kind', '=', kind)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now);
    if (principalId !== undefined) q = q.where('principal_id', '=', principalId);
    const r = await q.executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

export class KyselyOidcLinks implements OidcLinkRepo {
  constructor(private readonly db: Db) {}

  async insert(l: OidcLinkRecord): Promise<boolean> {
    const r = await this.db
      .insertInto('oidc_links')
      .values({ principal_id: l.principalId, issuer: l.issuer, subject: l.subject, created_at: l.createdAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async ofPrincipal(principalId: string): Promise<OidcLinkRecord | undefined> {
    const r = await this.db.selectFrom('oidc_links').selectAll().where('principal_id', '=', principalId).executeTakeFirst();
    return r ? toLink(r) : undefined;
  }

  async ofAccount(issuer: string, subject: string): Promise<OidcLinkRecord | undefined> {
    const r = await this.db
      .selectFrom('oidc_links')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return r ? toLink(r) : undefined;
  }
}

function toLink(r: Selectable<Database['oidc_links']>): OidcLinkRecord {
  return { principalId: r.principal_id, issuer: r.issuer, subject: r.subject, createdAt: r.created_at };
}

function toRecord(r: Selectable<Database['webauthn_credentials']>): WebAuthnCredentialRecord {
  return {
    id: r.id,
    principalId: r.principal_id,
    name: r.name,
    publicKey: r.public_key,
    counter: Number(r.counter),
    transports: JSON.parse(r.transports) as string[],
    aaguid: r.aaguid,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    suspendedAt: r.suspended_at,
  };
}

function toChallenge(r: Selectable<Database['access_challenges']>): AccessChallengeRecord {
  return {
    id: r.id,
    kind: r.kind as AccessChallengeRecord['kind'],
    principalId: r.principal_id,
    purpose: r.purpose,
    data: r.data,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}
