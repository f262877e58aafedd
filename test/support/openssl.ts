/**
 * The `openssl` command line tool, for tests that run real TLS servers and clients
 * (`openssl s_server`, `openssl s_client`): Debian's package `openssl`.
 */
import { spawnSync } from 'node:child_process';

export const skipReasonOpenssl = 'openssl not found: apt-get install openssl';

/** Why `openssl version` does not run here, or undefined when it does. */
export function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error) return r.error.message;
  if (r.status !== 0) return `openssl version exited ${r.status ?? r.signal}: ${r.stderr.trim()}`;
  return undefined;
}

/**
 * For `describe.skipIf(!opensslAvailable())`. Outside CI a missing openssl skips (with a warning
 * that says what to install); under CI=true it throws, so the TLS tests cannot go quietly missing.
 */
export function opensslAvailable(): boolean {
  const missing = opensslMissing();
  if (missing === undefined) return true;
  const reason = `${skipReasonOpenssl} (${missing})`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI=true: the TLS tests may not be skipped`);
  console.warn(`[openssl] ${reason}. TLS tests are skipped.`);
  return false;
}
