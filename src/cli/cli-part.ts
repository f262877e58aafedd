/** What a capability adds to the `bulwark` command line: its commands, on the program. */
import type { Command } from 'commander';

export type CliPart = (program: Command) => void;
