/** Access on the command line: tokens and principals straight on the database; approvals, secrets and roles through the server. */
import type { Command } from 'commander';
import { approvalCommands } from './approvals.ts';
import { principalCommands } from './principals.ts';
import { secretCommands } from './access-secrets.ts';
import { roleCommands } from './access-roles.ts';
import { tokenCommands } from './tokens.ts';

export function accessCommands(program: Command): void {
  tokenCommands(program);
  principalCommands(program);
  approvalCommands(program);
  secretCommands(program);
  roleCommands(program);
}
