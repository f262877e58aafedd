/**
 * A KRI changing colour becomes a signal (source `bulwark`, `alertname` KriColour), through the
 * ingest use case like burn-rate alerts (burn-signals.ts): stored, in the ledger, on the bus. The
 * change is claimed first with a compare and set (SloRepo.setKriColour), so of several servers one
 * announces it. The first look records the colour and announces it only when it is not green; a
 * change to green is announced as resolved.
 */
import { createHash } from 'node:crypto';
import { systemActor } from '../../core/ledger/actor.ts';
import { makeSignal, toLabels } from '../../core/signals/signal.ts';
import type { Severity } from '../../core/signals/severity.ts';
import type { KriColour, KriResult } from '../../core/slos/kris.ts';
import type { IngestSubmission, SignalIngest } from '../signals/ingest.ts';
import { iso, type AppDeps } from '../deps.ts';

export interface KriColourChange {
  kri: string;
  from: string | null;
  to: KriColour;
  signalId: string;
}

const SEVERITY: Record<KriColour, Severity> = { red: 'high', amber: 'medium', unknown: 'low', green: 'info' };

/** The signal announcing that `kri` turned `kri.colour` at `now`, leaving `from` (held since `since`). */
export function kriSubmission(kri: KriResult, from: string | null, since: string | null, now: string): IngestSubmission {
  const body = {
    kri: kri.kri,
    title: kri.title,
    colour: kri.colour,
    from,
    value: kri.value,
    amber: kri.amber,
    red: kri.red,
    why: kri.why,
    items: kri.items,
  };
  const signal = makeSignal({
    source: 'bulwark',
    time: now,
    receivedAt: now,
    severity: SEVERITY[kri.colour],
    labels: toLabels([
      ['alertname', 'KriColour'],
      ['kri', kri.kri],
      ['colour', kri.colour],
    ]),
    body,
    dedup: { kind: 'webhook-id', id: `kri-colour/${kri.kri}/${kri.colour}/${now}/${since ?? ''}` },
    resolved: kri.colour === 'green',
  });
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    actor: systemActor('slo-kris'),
    items: [{ signal, raw: { digest: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/json', bytes } }],
  };
}

/** Claim and announce each KRI whose colour changed since it was last announced. */
export async function announceKriColours(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  ingest: Pick<SignalIngest, 'ingest'>,
  kris: readonly KriResult[],
): Promise<KriColourChange[]> {
  const changes: KriColourChange[] = [];
  for (const kri of kris) {
    const now = iso(deps.clock);
    const claimed = await deps.store.slos.setKriColour(kri.kri, kri.colour, now);
    if (!claimed || (claimed.from === null && kri.colour === 'green')) continue;
    const submission = kriSubmission(kri, claimed.from, claimed.since, now);
    await ingest.ingest(submission);
    changes.push({ kri: kri.kri, from: claimed.from, to: kri.colour, signalId: submission.items[0]!.signal.id });
  }
  return changes;
}
