import type { Command } from 'commander';

/** The options every command that opens the database takes. */
export function storeOptions(cmd: Command): Command {
  return cmd
    .option('--db <url>', 'database: sqlite:PATH or postgres://… (env BULWARK_DB)')
    .option('--data-dir <dir>', 'data directory (env BULWARK_DATA_DIR; default .bulwark)')
    .option('--config <file>', 'configuration file, YAML or JSON (env BULWARK_CONFIG)');
}
