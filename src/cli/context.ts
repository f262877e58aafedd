/** Build what a command needs from the configuration: the store, the key ring, the deps. */
import path from 'node:path';
import { systemClock, type AppDeps } from '../app/deps.ts';
import { ensureOrigin } from '../app/bootstrap.ts';
import { fileKeyRing } from '../adapters/key-files.ts';
import { loadConfig, type Config } from '../config.ts';
import { openStore } from '../store/open-store.ts';
import { cliActor as personAtCli, type Actor } from '../core/ledger/actor.ts';

export interface StoreFlags {
  db?: string;
  dataDir?: string;
  config?: string;
}

/** The configuration for a command: its store flags plus any settings it maps itself. */
export function configFrom(flags: StoreFlags, settings: Record<string, unknown> = {}): Config {
  return loadConfig({ db: flags.db, dataDir: flags.dataDir, config: flags.config, ...settings });
}

export async function openContext(
  config: Config,
  opts: { mustExist?: boolean } = {},
): Promise<{ deps: AppDeps; close: () => Promise<void> }> {
  const store = await openStore(config.db, opts);
  try {
    const origin = await ensureOrigin(store, config.origin);
    const keys = fileKeyRing({
      dir: path.join(config.dataDir, 'keys'),
      name: config.checkpoint.keyName,
      keyPath: config.checkpoint.keyPath,
    });
    return { deps: { store, clock: systemClock, keys, origin }, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** Who runs a CLI command, as written in the ledger. */
export function cliActor(): Actor {
  return personAtCli(process.env.USER ?? process.env.LOGNAME ?? 'unknown');
}
