/** Access on the command line: tokens and principals straight on the database; approvals and secrets through the server. */
import type { Command } from 'commander';
import { approvalCommands } from './approvals.ts';
import { principalCommands } from './principals.ts';
import { secretCommands } from './access-secrets.ts';
import { tokenCommands } from './tokens.ts';

export function accessCommands(program: Command): void {
  tokenCommands(program);
  principalCommands(program);
  approvalCommands(program);
  secretCommands(program);
}
