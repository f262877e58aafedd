/** Experiments on the command line: files on this machine, experiments on a server, the attack library. */
import type { Command } from 'commander';
import { experimentCommands } from './experiments.ts';
import { experimentRemoteCommands } from './experiments-remote.ts';
import { techniqueCommands } from './techniques.ts';

export function experimentsCommands(program: Command): void {
  experimentRemoteCommands(program);
  experimentCommands(program);
  techniqueCommands(program);
}
