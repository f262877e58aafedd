#!/usr/bin/env node
/** The `bulwark` command line. Each group of commands lives in its own file. */
import { Command } from 'commander';
import { configFrom, type StoreFlags } from './context.ts';
import { reportAndExit } from './exit.ts';
import { storeOptions } from './options.ts';
import { CAPABILITIES } from '../capabilities/index.ts';
import { VERSION } from '../version.ts';

const program = new Command('bulwark')
  .description('Bulwark: security as a reliability property')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

storeOptions(
  program
    .command('serve')
    .description('run the API, the dashboard and the checkpoint job')
    .option('--host <host>', 'listen address (env BULWARK_HOST; default 127.0.0.1)')
    .option('--port <port>', 'listen port (env BULWARK_PORT; default 7600)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--log-format <format>', 'json, pretty or auto (pretty on a terminal; env BULWARK_LOG_FORMAT; default auto)')
    .option('--checkpoint-interval <seconds>', 'sign a checkpoint this often when the log grew (0: never)')
    .option('--checkpoint-file <file>', 'publish every checkpoint to this file')
    .option('--checkpoint-webhook <url>', 'POST every checkpoint to this URL')
    .option('--secrets-key-file <file>', "sealed secrets' key file, shared by every replica (env BULWARK_SECRETS_KEY_FILE)")
    .option('--demo', 'also run the demo shop on loopback and its experiments, every minute'),
).action(
  async (
    o: StoreFlags & {
      host?: string;
      port?: string;
      logLevel?: string;
      logFormat?: string;
      checkpointInterval?: string;
      checkpointFile?: string;
      checkpointWebhook?: string;
      secretsKeyFile?: string;
      demo?: boolean;
    },
  ) => {
    // Loaded on demand: the other commands start faster without the HTTP stack.
    const { serve } = await import('./serve.ts');
    await serve(
      configFrom(o, {
        host: o.host,
        port: o.port,
        logLevel: o.logLevel,
        logFormat: o.logFormat,
        'checkpoint.intervalSeconds': o.checkpointInterval,
        'checkpoint.publishFile': o.checkpointFile,
        'checkpoint.webhookUrl': o.checkpointWebhook,
        'secrets.keyFile': o.secretsKeyFile,
      }),
      { demo: !!o.demo },
    );
  },
);

// The capabilities' commands, in registry order: only the part that owns the command being run
// (a command loads its own modules, not every capability's), or all of them when the command is
// none of theirs (help, a typo: commander then lists or suggests every command).
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const owners = CAPABILITIES.filter((c) => command !== undefined && c.commands?.includes(command));
if (command !== 'serve') for (const capability of owners.length > 0 ? owners : CAPABILITIES) (await capability.cli?.())?.(program);

// A closed pipe (`bulwark runs show ID | head`) ends the command quietly, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
  if (typeof code === 'string' && code.startsWith('commander.')) process.exit(2);
  reportAndExit(e);
}
