/** Access on the command line: tokens and principals, straight on the database. */
import type { Command } from 'commander';
import { principalCommands } from './principals.ts';
import { tokenCommands } from './tokens.ts';

export function accessCommands(program: Command): void {
  tokenCommands(program);
  principalCommands(program);
}
