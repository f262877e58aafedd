/**
 * The server's periodic evaluation of budget policies: each SLO's status, and when its policy is
 * in another state than last recorded, the new state and a `slo.policy.changed` ledger entry in
 * one transaction (a compare and set, so of several servers on one database one records it).
 */
import { systemActor } from '../../core/ledger/actor.ts';
import { iso, type AppDeps } from '../deps.ts';
import type { SignalIngest } from '../signals/ingest.ts';
import { announceBurnAlerts, type BurnAlertChange } from './burn-signals.ts';
import { announceKriColours, type KriColourChange } from './kri-signals.ts';
import { evaluateKris } from './kris.ts';
import { sloStatus, type SloStatus } from './slo-status.ts';

export interface PolicyChange {
  name: string;
  from: 'ok' | 'freeze' | null;
  to: 'ok' | 'freeze';
  why: string;
}

/**
 * With `ingest`, burn-rate alerts that start or stop firing are announced as signals too
 * (burn-signals.ts), and so are KRIs that change colour (kri-signals.ts); `onAlert` and `onKri`
 * hear each one.
 */
export async function evaluatePolicies(
  deps: AppDeps,
  opts: {
    ingest?: Pick<SignalIngest, 'ingest'>;
    onAlert?: (change: BurnAlertChange) => void;
    onKri?: (change: KriColourChange) => void;
  } = {},
): Promise<PolicyChange[]> {
  const changes: PolicyChange[] = [];
  const statuses: SloStatus[] = [];
  for (const record of await deps.store.slos.list()) {
    let status;
    try {
      status = await sloStatus(deps, record);
    } catch {
      continue; // A file that no longer parses is reported by GET /v1/slos/{name}; it has no policy state.
    }
    statuses.push(status);
    if (opts.ingest && status.budget) {
      const alerts = await announceBurnAlerts(
        deps,
        opts.ingest,
        { name: record.name, service: status.model.service },
        status.budget.alerts,
      );
      for (const a of alerts) opts.onAlert?.(a);
    }
    const policy = status.policy;
    if (!policy || !status.budget) continue;
    const remaining = status.budget.remaining;
    const now = iso(deps.clock);
    const change = await deps.store.transaction(async (tx) => {
      const set = await tx.slos.setPolicyState(record.name, record.version, policy.state);
      if (!set) return undefined;
      await tx.ledger.append(
        [
          {
            actor: systemActor('slo-policy'),
            kind: 'slo.policy.changed',
            subject: `slo:${record.name}`,
            data: { name: record.name, version: record.version, from: set.from, to: policy.state, why: policy.why, remaining },
          },
        ],
        now,
      );
      return { name: record.name, from: set.from, to: policy.state, why: policy.why };
    });
    if (change) changes.push(change);
  }
  if (opts.ingest) {
    for (const c of await announceKriColours(deps, opts.ingest, await evaluateKris(deps, statuses))) opts.onKri?.(c);
  }
  return changes;
}
