/** `bulwark backup` and `bulwark restore`: portable JSON lines, verified after restore. */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Command } from 'commander';
import { restoreLines, writeBackup } from '../app/backup.ts';
import { configFrom, openContext, type StoreFlags } from './context.ts';
import { malformed } from './exit.ts';
import { storeOptions } from './options.ts';

export function backupCommands(program: Command): void {
  storeOptions(
    program
      .command('backup')
      .description('write every table as JSON lines (portable between SQLite and PostgreSQL)')
      .requiredOption('--out <file>'),
  ).action(async (o: StoreFlags & { out: string }) => {
    const { deps, close } = await openContext(configFrom(o), { mustExist: true });
    try {
      const out = createWriteStream(o.out, { mode: 0o600 });
      const n = await writeBackup(deps.store, async (line) => {
        if (!out.write(line + '\n')) await once(out, 'drain');
      });
      await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
      process.stdout.write(`backup written to ${o.out} (${n} rows)\n`);
    } finally {
      await close();
    }
  });

  storeOptions(
    program.command('restore').description('load a backup into an empty database, then verify the ledger').requiredOption('--in <file>'),
  ).action(async (o: StoreFlags & { in: string }) => {
    const input = createReadStream(o.in, 'utf8');
    await once(input, 'open').catch((e: Error) => {
      throw malformed(`cannot read backup ${o.in}: ${e.message}`);
    });
    const { deps, close } = await openContext(configFrom(o));
    try {
      const { rows, report } = await restoreLines(deps.store, createInterface({ input, crlfDelay: Infinity }));
      process.stdout.write(`restored ${rows} rows; ledger ${report.message}\n`);
    } finally {
      await close();
    }
  });
}
