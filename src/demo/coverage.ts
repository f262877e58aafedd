/**
 * The demo's coverage scope: the demo shop is a Linux web application, so the techniques in scope
 * are those of its threat profile (what its three experiments exercise, and the web attacks of
 * the attack library that fit it) plus every Initial Access and Credential Access technique on
 * Linux or containers. Stored once, on the demo's first start: settings a user stored since are
 * never overwritten.
 *
 * Wired in by `bulwark serve --demo` with one call after the demo experiments are applied:
 * `await applyDemoCoverage(opts.deps)` in startDemo (src/cli/serve-demo.ts).
 */
import type { AppDeps } from '../app/deps.ts';
import { setCoverageSettings, type StoredSettings } from '../app/coverage/coverage.ts';
import type { CoverageSettingsInput } from '../core/coverage/settings.ts';
import { systemActor } from '../core/ledger/actor.ts';

export const DEMO_COVERAGE: CoverageSettingsInput = {
  scope: { platforms: ['Linux', 'Containers'], tactics: ['initial-access', 'credential-access'], profiles: ['demo-shop'] },
  profiles: {
    'demo-shop': ['T1190', 'T1110.001', 'T1110.004', 'T1059.004', 'T1083', 'T1595.003', 'T1499.003'],
  },
  // The demo runs every minute: a day without a run is news.
  staleAfterDays: { default: 1 },
};

/** Store the demo's coverage settings unless some are stored already; undefined when it left them as they were. */
export async function applyDemoCoverage(deps: Pick<AppDeps, 'store' | 'clock'>): Promise<StoredSettings | undefined> {
  if (await deps.store.coverageSettings.get()) return undefined;
  return setCoverageSettings(deps, systemActor('demo'), DEMO_COVERAGE);
}
