/**
 * Regressions: a control that held in the experiment's last meaningful run (prevented or
 * detected) and now fails (missed or detected late) is news, so Bulwark says it the way every
 * other system does, as a signal (source `bulwark`), through the ingest use case: it is stored,
 * in the ledger, on the bus, and a detection expression or a playbook trigger can match it.
 * Runs that say nothing about the control (not-run, aborted, errored, rollback-failed, dry
 * runs) are skipped when looking back.
 */
import { createHash } from 'node:crypto';
import type { Outcome } from '../../../core/experiments/outcome.ts';
import { makeSignal, toLabels, type Signal } from '../../../core/signals/signal.ts';
import type { Store } from '../../../store/store.ts';
import type { IngestSubmission, SignalIngest } from '../../signals/ingest.ts';
import { systemActor } from '../../../core/ledger/actor.ts';

const HELD: readonly string[] = ['prevented', 'detected'];
const FAILED: readonly string[] = ['missed', 'detected-late'];

/** The outcome of the experiment's last meaningful run before `runId`, when it held and this one failed. */
export async function findRegression(
  store: Pick<Store, 'runs'>,
  run: { id: string; experiment: string; startedAt: string; outcome: Outcome },
): Promise<{ previous: string; previousRun: string } | undefined> {
  if (!FAILED.includes(run.outcome)) return undefined;
  let cursor: { startedAt: string; id: string } | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await store.runs.list({ experiment: run.experiment, state: 'done', limit: 50, ...(cursor ? { cursor } : {}) });
    for (const prev of r.runs) {
      if (prev.id === run.id || prev.dryRun || prev.startedAt > run.startedAt) continue;
      if (prev.outcome === null || !(HELD.includes(prev.outcome) || FAILED.includes(prev.outcome))) continue;
      return HELD.includes(prev.outcome) ? { previous: prev.outcome, previousRun: prev.id } : undefined;
    }
    if (!r.next) return undefined;
    cursor = r.next;
  }
  return undefined;
}

/** The regression as a signal, ready for the ingest use case. */
export function regressionSubmission(
  run: { id: string; experiment: string; outcome: Outcome; reason: string },
  previous: { previous: string; previousRun: string },
  nowIso: string,
): IngestSubmission {
  const body = {
    experiment: run.experiment,
    previous: previous.previous,
    previousRun: previous.previousRun,
    now: run.outcome,
    run: run.id,
    reason: run.reason,
  };
  const signal: Signal = makeSignal({
    source: 'bulwark',
    time: nowIso,
    receivedAt: nowIso,
    severity: 'high',
    labels: toLabels([
      ['alertname', 'ExperimentRegression'],
      ['experiment', run.experiment],
      ['previous', previous.previous],
      ['now', run.outcome],
      ['run', run.id],
    ]),
    body,
    dedup: { kind: 'webhook-id', id: `regression/${run.id}` },
  });
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    actor: systemActor('bulwark:experiments'),
    items: [{ signal, raw: { digest: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/json', bytes } }],
  };
}

/**
 * After a run: find a regression and, when there is one, send its signal through the ingest (if
 * the process has one). Never throws: a failure to report is said through `say`, not a failed run.
 */
export async function reportRegression(
  deps: { store: Pick<Store, 'runs'>; clock: { now(): Date }; ingest?: Pick<SignalIngest, 'ingest'> },
  run: { id: string; experiment: string; startedAt: string; outcome: Outcome; reason: string },
  say: (message: string) => void,
): Promise<{ previous: string; previousRun: string; signalId: string; emitted: boolean } | undefined> {
  try {
    const found = await findRegression(deps.store, run);
    if (!found) return undefined;
    say(`regression: the last run was ${found.previous}, this one is ${run.outcome}`);
    const submission = regressionSubmission(run, found, deps.clock.now().toISOString());
    if (deps.ingest) await deps.ingest.ingest(submission);
    return { ...found, signalId: submission.items[0]!.signal.id, emitted: deps.ingest !== undefined };
  } catch (e) {
    say(`could not report the regression: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/** A named rule that stopped firing while something else still met its detection. */
export interface RuleRegression {
  detection: string;
  rule: string;
  /** The last meaningful run before, in which the rule fired. */
  previousRun: string;
  /** Rules that fired instead. */
  otherRules: string[];
  signalId: string;
  emitted: boolean;
}

const MEANINGFUL: readonly string[] = [...HELD, ...FAILED];

/** The experiment's last meaningful run (prevented, detected, detected late, missed) before this one. */
async function previousRun(
  store: Pick<Store, 'runs'>,
  run: { id: string; experiment: string; startedAt: string },
): Promise<{ id: string; journal: unknown } | undefined> {
  let cursor: { startedAt: string; id: string } | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await store.runs.list({ experiment: run.experiment, state: 'done', limit: 50, ...(cursor ? { cursor } : {}) });
    for (const prev of r.runs) {
      if (prev.id === run.id || prev.dryRun || prev.startedAt > run.startedAt) continue;
      if (prev.outcome === null || !MEANINGFUL.includes(prev.outcome)) continue;
      return { id: prev.id, journal: prev.journal };
    }
    if (!r.next) return undefined;
    cursor = r.next;
  }
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Whether the named rule fired for the detection in a stored journal: true or false when the
 * journal says, undefined when it does not (a run from before rules were checked, another rule named).
 */
export function ruleFiredIn(journal: unknown, detection: string, rule: string): boolean | undefined {
  if (!isRecord(journal) || !isRecord(journal['bulwark'])) return undefined;
  const list = journal['bulwark']['detections'];
  if (!Array.isArray(list)) return undefined;
  const d: unknown = list.find((x: unknown) => isRecord(x) && x['name'] === detection);
  if (!isRecord(d) || d['rule'] !== rule || !('ruleFired' in d)) return undefined;
  return d['ruleFired'] !== null && d['ruleFired'] !== undefined;
}

/**
 * After a run: for each detection that names a rule and was met by another rule only, when the
 * rule fired in the experiment's previous meaningful run, a regression per rule as a signal
 * (alertname DetectionRuleRegression). Never throws.
 */
export async function reportRuleRegressions(
  deps: { store: Pick<Store, 'runs'>; clock: { now(): Date }; ingest?: Pick<SignalIngest, 'ingest'> },
  run: { id: string; experiment: string; startedAt: string; outcome: Outcome },
  detections: readonly { name: string; rule?: string; ruleFired?: unknown; otherRules?: string[]; match: unknown }[],
  say: (message: string) => void,
): Promise<RuleRegression[]> {
  const candidates = detections.filter(
    (d) => d.rule !== undefined && d.match !== null && (d.ruleFired === null || d.ruleFired === undefined),
  );
  if (candidates.length === 0) return [];
  try {
    const prev = await previousRun(deps.store, run);
    if (!prev) return [];
    const out: RuleRegression[] = [];
    for (const d of candidates) {
      if (ruleFiredIn(prev.journal, d.name, d.rule!) !== true) continue;
      const others = d.otherRules ?? [];
      say(
        `regression: rule ${d.rule} of '${d.name}' fired in run ${prev.id} and not in this one; detected by ${others.length ? others.join(', ') : 'another rule'}`,
      );
      const nowIso = deps.clock.now().toISOString();
      const body = { experiment: run.experiment, detection: d.name, rule: d.rule!, previousRun: prev.id, run: run.id, otherRules: others };
      const signal: Signal = makeSignal({
        source: 'bulwark',
        time: nowIso,
        receivedAt: nowIso,
        severity: 'high',
        labels: toLabels([
          ['alertname', 'DetectionRuleRegression'],
          ['experiment', run.experiment],
          ['detection', d.name],
          ['rule', d.rule!],
          ['run', run.id],
        ]),
        body,
        dedup: { kind: 'webhook-id', id: `rule-regression/${run.id}/${d.name}` },
      });
      const bytes = Buffer.from(JSON.stringify(body));
      if (deps.ingest)
        await deps.ingest.ingest({
          actor: systemActor('bulwark:experiments'),
          items: [{ signal, raw: { digest: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/json', bytes } }],
        });
      out.push({
        detection: d.name,
        rule: d.rule!,
        previousRun: prev.id,
        otherRules: others,
        signalId: signal.id,
        emitted: deps.ingest !== undefined,
      });
    }
    return out;
  } catch (e) {
    say(`could not report a rule regression: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
}
