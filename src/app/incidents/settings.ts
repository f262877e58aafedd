/** Applying the incidents settings file: parse (errors with line and column), store as the next version and append `incidents.settings.applied` in one transaction. */
import { invalid } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { parseIncidentSettings, type IncidentSettings } from '../../core/incidents/settings.ts';
import type { SettingsRecord } from '../../store/incidents/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { entry, sha256Hex } from './record.ts';

export async function applyIncidentSettings(
  deps: AppDeps,
  actor: Actor,
  file: string,
): Promise<{ record: SettingsRecord; settings: IncidentSettings; changed: boolean }> {
  const r = parseIncidentSettings(file);
  if (!r.ok) {
    const first = r.errors[0]!;
    throw invalid(
      `the settings file has ${r.errors.length === 1 ? 'an error' : `${r.errors.length} errors`}; the first, at line ${first.line}, column ${first.column}${first.path ? ` (${first.path})` : ''}: ${first.message}`,
      r.errors,
    );
  }
  const sha = sha256Hex(file);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const before = await tx.incidents.getSettings();
    if (before?.fileSha256 === sha) return { record: before, settings: r.settings, changed: false };
    const record = await tx.incidents.putSettings(file, sha, actorLabel(actor), now);
    await tx.ledger.append(
      [
        entry(actor, 'incidents.settings.applied', 'incidents:settings', {
          version: record.version,
          sha256: sha,
          rules: r.settings.rules.map((x) => x.name),
        }),
      ],
      now,
    );
    return { record, settings: r.settings, changed: true };
  });
}
