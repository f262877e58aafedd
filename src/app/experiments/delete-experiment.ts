/**
 * Deleting (retiring) an applied experiment: its row becomes a tombstone and the
 * `experiment.deleted` ledger entry is appended, in one transaction. Nothing else changes:
 *
 * - its runs and their ledger entries are evidence and stay readable by id and by name;
 * - a run going on is not stopped (stop it with POST /v1/runs/{id}/stop); a scheduled run
 *   claimed ahead and still waiting for its time does not start (run-manager.ts reads the
 *   experiment again at that time);
 * - every scheduler on the database drops its schedule at its next look (they read
 *   ExperimentRepo.scheduled(), which leaves deleted experiments out);
 * - the name can be applied again: a new experiment, whose version follows the deleted one's, so
 *   that no two `experiment.applied` entries of one name carry the same version.
 */
import { invalid, notFound } from '../../core/errors.ts';
import type { DeletedExperimentRecord } from '../../store/experiments/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { EXPERIMENT_NAME } from './apply-experiment.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';

export async function deleteExperiment(deps: AppDeps, actor: Actor, name: string): Promise<DeletedExperimentRecord> {
  if (!EXPERIMENT_NAME.test(name)) throw invalid(`name '${name}' must be 1–64 characters of a-z, 0-9 and "-"`);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const deleted = await tx.experiments.delete(name, actorLabel(actor), now);
    if (!deleted) {
      throw notFound(`no experiment '${name}' to delete: it was never applied, or is deleted already; GET /v1/experiments lists them`);
    }
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'experiment.deleted',
          subject: `experiment:${name}`,
          data: { name, version: deleted.version, sha256: deleted.fileSha256, title: deleted.title, by: actorLabel(actor) },
        },
      ],
      now,
    );
    return deleted;
  });
}
