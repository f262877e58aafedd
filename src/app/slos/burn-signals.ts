/**
 * Burn-rate alerts become signals: when an SLO's page or ticket alert starts or stops firing, one
 * signal says so (source `bulwark`, `alertname` SloBurnRate, `resolved` when it stops), through
 * the ingest use case like any other: stored, in the ledger, on the bus, where a detection
 * expression, a case rule or a playbook trigger can match it. The change is claimed first with a
 * compare and set (SloRepo.setAlertState), so of several servers evaluating at once one announces
 * it. The first evaluation of an alert that does not fire records its state and announces nothing.
 */
import { createHash } from 'node:crypto';
import { systemActor } from '../../core/ledger/actor.ts';
import { makeSignal, toLabels } from '../../core/signals/signal.ts';
import type { AlertState } from '../../core/slos/budget.ts';
import type { IngestSubmission, SignalIngest } from '../signals/ingest.ts';
import { iso, type AppDeps } from '../deps.ts';

export interface BurnAlertChange {
  slo: string;
  severity: 'page' | 'ticket';
  firing: boolean;
  signalId: string;
}

/** The signal announcing that `alert` of `slo` started (or stopped) firing at `now`. */
export function burnSubmission(
  slo: { name: string; service: string },
  alert: AlertState,
  since: string | null,
  now: string,
): IngestSubmission {
  const body = {
    slo: slo.name,
    service: slo.service,
    severity: alert.severity,
    firing: alert.firing,
    why: alert.why,
    windows: alert.pairs,
  };
  const signal = makeSignal({
    source: 'bulwark',
    time: now,
    receivedAt: now,
    severity: alert.severity === 'page' ? 'critical' : 'high',
    labels: toLabels([
      ['alertname', 'SloBurnRate'],
      ['slo', slo.name],
      ['service', slo.service],
      ['severity', alert.severity],
    ]),
    body,
    // One signal per change: the state it left and when, so a resend of the same change is a duplicate.
    dedup: {
      kind: 'webhook-id',
      id: `slo-burn/${slo.name}/${alert.severity}/${alert.firing ? 'firing' : 'resolved'}/${now}/${since ?? ''}`,
    },
    resolved: !alert.firing,
  });
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    actor: systemActor('slo-alerts'),
    items: [{ signal, raw: { digest: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/json', bytes } }],
  };
}

/** Claim and announce each alert whose state changed since it was last announced. */
export async function announceBurnAlerts(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  ingest: Pick<SignalIngest, 'ingest'>,
  slo: { name: string; service: string },
  alerts: readonly AlertState[],
): Promise<BurnAlertChange[]> {
  const changes: BurnAlertChange[] = [];
  for (const alert of alerts) {
    const now = iso(deps.clock);
    const claimed = await deps.store.slos.setAlertState(slo.name, alert.severity, alert.firing, now);
    // Nothing changed; or the first look at an alert that is quiet: nothing to announce.
    if (!claimed || (claimed.since === null && !alert.firing)) continue;
    const submission = burnSubmission(slo, alert, claimed.since, now);
    await ingest.ingest(submission);
    changes.push({ slo: slo.name, severity: alert.severity, firing: alert.firing, signalId: submission.items[0]!.signal.id });
  }
  return changes;
}
