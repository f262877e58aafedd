/**
 * Access's store part: API tokens and dashboard sessions, stored by hash. The tokens table has no
 * migration of its own (the ledger's 0001 created it, and a shipped migration is never split);
 * sessions came with 0010, principals with 0011, second factors (and a session's step-up time, a token's
 * last use) with 0017, approvals and breakglass with 0018, the
 * per-person count of refused second-factor codes with 0021, sealed secrets with 0022 (their key is
 * never in the database: a backup holds sealed values only, and restoring needs the key file too),
 * custom roles with 0030, security keys (WebAuthn) and single-use sign-in challenges with 0031, a person's account at the OIDC provider with 0034. Sessions are not backed up: a restored server starts with none.
 */
import type { StorePart } from '../store-part.ts';
import { KyselySessions } from './kysely-sessions.ts';
import { KyselyTokens } from './kysely-tokens.ts';
import { sessions } from './migrations/0010-sessions.ts';
import { principals } from './migrations/0011-principals.ts';
import { KyselyPrincipals } from './kysely-principals.ts';
import { secondFactors } from './migrations/0017-second-factors.ts';
import { approvals } from './migrations/0018-approvals.ts';
import { secondFactorFailures } from './migrations/0021-second-factor-failures.ts';
import { KyselySecondFactors } from './kysely-second-factors.ts';
import { KyselyApprovals } from './kysely-approvals.ts';
import { KyselyBreakglass } from './kysely-breakglass.ts';
import { KyselySecrets } from './kysely-secrets.ts';
import { KyselyRunRollbackSeals } from './kysely-run-rollback-seals.ts';
import { secrets } from './migrations/0022-secrets.ts';
import { customRoles } from './migrations/0030-custom-roles.ts';
import { KyselyCustomRoles } from './kysely-custom-roles.ts';
import { webauthn } from './migrations/0031-webauthn.ts';
import { oidcLinks } from './migrations/0034-oidc-links.ts';
import { KyselyAccessChallenges, KyselyOidcLinks, KyselyWebAuthn } from './kysely-webauthn.ts';
import type {} from './webauthn-port.ts';
import type {} from './webauthn-tables.ts';
import type {} from './port.ts';
import type {} from './tables.ts';

export const accessStore: StorePart = {
  tables: [
    { name: 'principals', backup: true },
    { name: 'tokens', backup: true },
    { name: 'sessions', backup: false },
    { name: 'second_factors', backup: true },
    { name: 'recovery_codes', backup: true },
    { name: 'approvals', backup: true },
    { name: 'approval_decisions', backup: true },
    { name: 'breakglass', backup: true },
    { name: 'secrets', backup: true },
    { name: 'custom_roles', backup: true },
    { name: 'webauthn_credentials', backup: true },
    { name: 'access_challenges', backup: false },
    { name: 'oidc_links', backup: true },
  ],
  migrations: {
    '0010_sessions': sessions,
    '0011_principals': principals,
    '0017_second_factors': secondFactors,
    '0018_approvals': approvals,
    '0021_second_factor_failures': secondFactorFailures,
    '0022_secrets': secrets,
    '0030_custom_roles': customRoles,
    '0031_webauthn': webauthn,
    '0034_oidc_links': oidcLinks,
  },
  repos: (ctx) => ({
    tokens: new KyselyTokens(ctx.db),
    sessions: new KyselySessions(ctx.db),
    principals: new KyselyPrincipals(ctx.db),
    secondFactors: new KyselySecondFactors(ctx.db),
    approvals: new KyselyApprovals(ctx.db, ctx.dialect),
    breakglass: new KyselyBreakglass(ctx.db, ctx.dialect),
    secrets: new KyselySecrets(ctx.db, ctx.dialect),
    runRollbackSeals: new KyselyRunRollbackSeals(ctx.db),
    customRoles: new KyselyCustomRoles(ctx.db, ctx.dialect),
    webauthn: new KyselyWebAuthn(ctx.db),
    accessChallenges: new KyselyAccessChallenges(ctx.db),
    oidcLinks: new KyselyOidcLinks(ctx.db),
  }),
  contract: async () => {
    const [{ tokensContract }, { secretsContract }, { webauthnContract }, { customRolesContract }] = await Promise.all([
      import('./tokens.contract.ts'),
      import('./secrets.contract.ts'),
      import('./webauthn.contract.ts'),
      import('./custom-roles.contract.ts'),
    ]);
    return (current) => {
      tokensContract(current);
      secretsContract(current);
      webauthnContract(current);
      customRolesContract(current);
    };
  },
};
