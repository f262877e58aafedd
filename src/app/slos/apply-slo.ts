/**
 * Applying and deleting SLO files: parse (errors with line and column), store as the name's next
 * version and append `slo.applied` (or `slo.deleted`) in one transaction. The same file applied
 * again under the same name writes nothing.
 */
import { createHash } from 'node:crypto';
import { invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { parseSloFile, SLO_NAME } from '../../core/slos/slo-file.ts';
import type { Slo } from '../../core/slos/types.ts';
import type { DeletedSloRecord, SloRecord } from '../../store/slos/port.ts';
import { iso, type AppDeps } from '../deps.ts';

export interface ApplySloResult {
  slo: SloRecord;
  model: Slo;
  created: boolean;
  changed: boolean;
}

/** The one SLO in a file, or an `invalid` error saying what to fix. */
export function sloOf(file: string): Slo {
  const r = parseSloFile(file);
  if (!r.ok) {
    const first = r.errors[0]!;
    throw invalid(
      `the SLO file has ${r.errors.length === 1 ? 'an error' : `${r.errors.length} errors`}; the first, at line ${first.line}, column ${first.column}${first.path ? ` (${first.path})` : ''}: ${first.message}`,
      r.errors,
    );
  }
  if (r.slos.length !== 1) {
    throw invalid(
      `the file holds ${r.slos.length} objectives (${r.slos.map((s) => s.name).join(', ')}); apply one objective per file: split its objectives into files of their own`,
    );
  }
  return r.slos[0]!;
}

/** An applied SLO's model: it parsed when applied, so a failure here means the parser changed. */
export function appliedModel(record: Pick<SloRecord, 'name' | 'file'>): Slo {
  try {
    return sloOf(record.file);
  } catch (e) {
    throw invalid(`SLO '${record.name}' no longer parses (${(e as Error).message}); apply it again`);
  }
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export async function applySlo(deps: AppDeps, actor: Actor, file: string): Promise<ApplySloResult> {
  const model = sloOf(file);
  const sha = sha256Hex(file);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const existing = await tx.slos.get(model.name);
    if (existing && existing.fileSha256 === sha) return { slo: existing, model, created: false, changed: false };
    const stored = await tx.slos.put(
      {
        name: model.name,
        displayName: model.displayName,
        service: model.service,
        format: model.format,
        file,
        fileSha256: sha,
        appliedBy: actorLabel(actor),
      },
      now,
    );
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'slo.applied',
          subject: `slo:${model.name}`,
          data: {
            name: model.name,
            version: stored.version,
            sha256: sha,
            format: model.format,
            objective: model.objective,
            window: model.window.text,
            sli: model.sli.source,
          },
        },
      ],
      now,
    );
    return { slo: stored, model, created: existing === undefined, changed: true };
  });
}

export async function getSlo(deps: Pick<AppDeps, 'store'>, name: string): Promise<SloRecord> {
  const s = await deps.store.slos.get(name);
  if (!s) throw notFound(`no SLO '${name}'; apply one with POST /v1/slos (bulwark slo apply FILE)`);
  return s;
}

export async function deleteSlo(deps: AppDeps, actor: Actor, name: string): Promise<DeletedSloRecord> {
  if (!SLO_NAME.test(name)) throw invalid(`name '${name}' must be 1–64 characters of a-z, 0-9 and "-"`);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const d = await tx.slos.delete(name, actorLabel(actor), now);
    if (!d) throw notFound(`no SLO '${name}' to delete: it was never applied, or is deleted already; GET /v1/slos lists them`);
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'slo.deleted',
          subject: `slo:${name}`,
          data: { name, version: d.version, sha256: d.fileSha256, by: actorLabel(actor) },
        },
      ],
      now,
    );
    return d;
  });
}
