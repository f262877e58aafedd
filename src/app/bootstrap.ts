/**
 * First start: name the log, register the checkpoint key, and when no token exists yet mint an
 * admin token. The caller shows that token once, on the terminal; it never reaches a log.
 */
import { randomBytes } from 'node:crypto';
import { createToken } from './access/tokens.ts';
import { registerCurrentKey } from './ledger/checkpoints.ts';
import type { AppDeps } from './deps.ts';
import type { Store } from '../store/store.ts';
import { systemActor } from '../core/ledger/actor.ts';

/** The log's origin line, chosen once per database and kept. */
export async function ensureOrigin(store: Store, wanted?: string): Promise<string> {
  return store.meta.putIfAbsent('origin', wanted ?? `bulwark.local/${randomBytes(6).toString('hex')}`);
}

/** The first start acts as Bulwark itself. */
const SYSTEM = systemActor('system');

export async function bootstrap(deps: AppDeps): Promise<{ adminToken?: string }> {
  await registerCurrentKey(deps, SYSTEM);
  if ((await deps.store.tokens.list()).length > 0) return {};
  // Replicas starting together on an empty database: the first to claim this key mints the
  // token, the others show none (the winner's terminal has it).
  const claim = randomBytes(8).toString('hex');
  if ((await deps.store.meta.putIfAbsent('bootstrap.admin-token', claim)) !== claim) return {};
  const { token } = await createToken(deps, SYSTEM, { name: 'admin', kind: 'person', admin: true });
  return { adminToken: token };
}
