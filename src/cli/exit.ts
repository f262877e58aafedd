/** Exit codes shared by every command: 0 success, 1 a check failed, 2 bad input. */
import { DomainError } from '../core/errors.ts';

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const malformed = (message: string) => new CliExit(2, message);

export function reportAndExit(e: unknown): never {
  if (e instanceof CliExit) {
    if (e.message) process.stderr.write(`${e.message}\n`);
    process.exit(e.code);
  }
  if (e instanceof DomainError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(e.code === 'invalid' ? 2 : 1);
  }
  process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
}
