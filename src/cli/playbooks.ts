import type { Command } from 'commander';

export function playbookCommands(program: Command): void {
  program.command('playbooks').description('playbooks');
}
