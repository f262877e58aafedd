/**
 * Access in the server: tokens, principals, second factors, the caller's session, approvals and
 * breakglass; the access settings (step-up, rate limits); the approvals service other
 * capabilities use (`services.approvals`); sealed secrets and the resolver the experiment runner
 * uses (`services.secrets`). The sealing keys are set on `deps.secretKeys` here (unless the caller
 * gave some), so that the use cases that seal and open TOTP secrets find them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Counter } from 'prom-client';
import { memorySecretKeys, type SecretKeys } from '../../app/access/sealer.ts';
import { referencedKeyIds, resolveSecret, sealStoredValues } from '../../app/access/secrets.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { DEFAULT_SECRET_KEY_FILE, fileSecretKeys } from '../../store/access/secret-key-file.ts';
import { secretRoutes } from '../routes/access-secrets.ts';
import { approvalRuleRoutes } from '../routes/access-approval-rules.ts';
import { approvalService, type ApprovalService } from '../../app/access/approvals.ts';
import { approvalRoutes } from '../routes/approvals.ts';
import { breakglassRoutes } from '../routes/breakglass.ts';
import { principalRoutes } from '../routes/principals.ts';
import { secondFactorRoutes } from '../routes/second-factor.ts';
import { webauthnRoutes } from '../routes/access-webauthn.ts';
import { oidcRoutes } from '../routes/access-oidc.ts';
import { tokenRoutes } from '../routes/tokens.ts';
import { roleRoutes } from '../routes/access-roles.ts';
import { registerResourceKind } from '../access-conditions.ts';
import { experimentLabels } from '../../app/access/resource-labels.ts';
import { configureAccess, type AccessSettings } from '../auth.ts';
import type { ServerOptions, ServerPart } from '../server-part.ts';
import type { Store } from '../../store/store.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /** Step-up (how fresh a second factor must be, whether every person needs one) and rate limits. */
    access?: Partial<AccessSettings>;
    /**
     * Sealed secrets: the key file (default `<experiments.stateDir>/secret-keys.json`, the data
     * directory; created 0600 on first use, and only while the database names no key). The
     * server refuses to start when the keys lack one the database names. Without either, keys
     * are held in memory and lost with the process (tests).
     */
    secrets?: { keyFile?: string };
  }
  interface Services {
    /** Multi-party approvals: request, status, consume (app/access/approvals.ts). */
    approvals: ApprovalService;
    /** Sealed secrets: the value of one, for the step that uses it (app/access/secrets.ts). */
    secrets: { resolve(name: string): Promise<string> };
  }
}

export const accessServer: ServerPart = async ({ app, routes, deps, options, services, metrics, log }) => {
  const breakglass = new Counter({
    name: 'bulwark_breakglass_total',
    help: 'Breakglass invoked through this server, by kind (a permission, or bypassing an approval)',
    labelNames: ['kind'],
    registers: [metrics],
  });
  configureAccess(app, options.access ?? {});
  tokenRoutes(app, routes, deps);
  principalRoutes(app, routes, deps);
  roleRoutes(app, routes, deps);
  // The resource conditional roles are evaluated on: an experiment, for the routes under its name.
  registerResourceKind(app, {
    kind: 'experiment',
    route: '/v1/experiments/:name',
    param: 'name',
    labels: (n) => experimentLabels(deps, n),
  });
  secondFactorRoutes(app, routes, deps);
  if (options.webauthn) deps.webauthn = options.webauthn;
  webauthnRoutes(app, routes, deps);
  if (options.oidc) deps.oidc = options.oidc;
  oidcRoutes(app, routes, deps);
  approvalRuleRoutes(app, routes, deps);
  approvalRoutes(app, routes, deps);
  // Signals is set up after access: its ingest is looked up when a breakglass is invoked.
  breakglassRoutes(
    app,
    routes,
    deps,
    () => services.signals,
    (kind) => breakglass.inc({ kind }),
  );
  services.approvals = approvalService(deps);

  deps.secretKeys ??= await secretKeysFor(options, deps.store);
  await checkKeysCoverDatabase(deps.secretKeys, deps.store);
  secretRoutes(app, routes, deps);
  services.secrets = { resolve: (name) => resolveSecret(deps, name) };
  const sealed = await sealStoredValues(deps, systemActor('bulwark'));
  if (sealed.secondFactors + sealed.runs > 0) log.info(sealed, 'sealed the TOTP secrets and run rollbacks stored before sealing');
};

/**
 * The keys from the key file (`--secrets-key-file`, `secrets.keyFile`, BULWARK_SECRETS_KEY_FILE,
 * else `<dataDir>/secret-keys.json`). A missing file is created only when the database names no
 * key: a replica or a restore without the file must not seal under a key of its own.
 */
async function secretKeysFor(options: ServerOptions, store: Store): Promise<SecretKeys> {
  const dir = options.experiments?.stateDir;
  const file = options.secrets?.keyFile ?? (dir ? path.join(dir, DEFAULT_SECRET_KEY_FILE) : undefined);
  if (!file) return memorySecretKeys();
  if (!existsSync(file)) {
    const named = await referencedKeyIds(store);
    if (named.length > 0) throw missingKeys(named, `the key file ${file}`, 'does not exist');
  }
  return fileSecretKeys(file);
}

/** Refuse to start when the database names a key the keys lack (a replica or a restore given another key file). */
async function checkKeysCoverDatabase(keys: SecretKeys, store: Store): Promise<void> {
  const missing = (await referencedKeyIds(store)).filter((id) => keys.get(id) === undefined);
  if (missing.length > 0) throw missingKeys(missing, keys.where, 'lacks them');
}

const missingKeys = (ids: string[], where: string, what: string): Error =>
  new Error(
    `the database holds values sealed under key${ids.length > 1 ? 's' : ''} ${ids.join(', ')} and ${where} ${what}; ` +
      'start with the key file they were sealed with (--secrets-key-file, secrets.keyFile in the config or BULWARK_SECRETS_KEY_FILE): ' +
      'every replica on one database needs the same key file, and a restore needs the key file backed up with the database (docs/access.md)',
  );
