/**
 * Import of ATTiRe logs: the procedures another tool executed (Atomic Red Team's
 * Invoke-AtomicTest, VECTR's automation) become runs of the coverage map, each matched to the
 * signals Bulwark received to give it an outcome (detected or missed) and a time to detect.
 * Stored with their ledger entry in one transaction; a second import of the same log adds nothing.
 */
import { ATTACK, type AttackTable } from '../../core/coverage/attack.ts';
import {
  attireRunId,
  DEFAULT_ATTIRE_WINDOW_SECONDS,
  detectionIn,
  indexSignals,
  withDeadline,
  parseAttire,
  type AttireMatch,
  type AttireTarget,
  type MatchableSignal,
} from '../../core/coverage/attire.ts';
import type { CoverageRun } from '../../core/coverage/map.ts';
import { invalid } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { ExternalRunRecord } from '../../store/coverage/port.ts';
import type { AppDeps } from '../deps.ts';

/**
 * At most this many signals are read to match one log (those received from its first procedure's
 * start to its last one's window end). A log whose span holds more is refused, not half-matched.
 */
export const MAX_MATCH_SIGNALS = 200_000;
const PAGE = 1000;

export interface AttireImport {
  executionId: string;
  source: string;
  target: AttireTarget;
  windowSeconds: number;
  /** A detection after this many seconds is `detected-late`; null: no deadline (every detection in the window is in time). */
  deadlineSeconds: number | null;
  match: AttireMatch;
  runs: (Pick<ExternalRunRecord, 'id' | 'technique' | 'procedure' | 'startedAt' | 'endedAt' | 'outcome' | 'ttdMs' | 'signalId'> & {
    /** False when the same procedure of the same log was imported before (left as it was). */
    imported: boolean;
  })[];
}

/**
 * The signals received from `since` to `until` (both included), as matching reads them, paged
 * within that span; refused past `max` signals: matching against only part of them would record
 * procedures as missed that were seen.
 */
async function signalsBetween(deps: Pick<AppDeps, 'store'>, since: string, until: string, max: number): Promise<MatchableSignal[]> {
  const out: MatchableSignal[] = [];
  let cursor: { receivedAt: string; id: string } | undefined;
  for (;;) {
    const page = await deps.store.signals.list({ since, until, limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const s of page.signals)
      out.push({ id: s.id, receivedAt: s.receivedAt, labels: s.labels, resolved: s.resolved, ...(s.runId ? { runId: s.runId } : {}) });
    if (out.length > max)
      throw invalid(
        `the ATTiRe log cannot be imported: more than ${max} signals were received from ${since} to ${until} (its procedures' span and window); nothing was stored. Import the procedures in smaller logs that span less time, or use a shorter window`,
        ['procedures'],
      );
    if (!page.next) break;
    cursor = page.next;
  }
  return out;
}

/**
 * Import one ATTiRe log: refused whole (nothing stored) when a field cannot be mapped or a
 * technique is not in the ATT&CK table, naming it.
 */
export async function importAttire(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  actor: Actor,
  text: string,
  opts: { windowSeconds?: number; deadlineSeconds?: number; match?: AttireMatch; maxSignals?: number } = {},
  table: AttackTable = ATTACK,
): Promise<AttireImport> {
  const parsed = parseAttire(text);
  if (!parsed.ok) throw invalid(`the ATTiRe log cannot be imported: ${parsed.message}`, [parsed.field]);
  const log = parsed.log;
  const known = new Set(table.techniques.map((t) => t.id));
  for (const p of log.procedures)
    if (!known.has(p.technique))
      throw invalid(
        `the ATTiRe log cannot be imported: procedures[${p.index}].mitre-technique-id: ${p.technique} is not a technique of ATT&CK v${table.version} (or it is deprecated or revoked)`,
        [`procedures[${p.index}].mitre-technique-id`],
      );
  const windowSeconds = opts.windowSeconds ?? DEFAULT_ATTIRE_WINDOW_SECONDS;
  const match = opts.match ?? 'host';
  const deadlineSeconds = opts.deadlineSeconds ?? null;
  if (deadlineSeconds !== null && !(Number.isInteger(deadlineSeconds) && deadlineSeconds >= 0 && deadlineSeconds < windowSeconds))
    throw invalid(
      `the ATTiRe log cannot be imported: deadlineSeconds ${deadlineSeconds} must be a whole number of seconds from 0 to less than the window (${windowSeconds}): a detection after the window is missed, not late`,
      ['deadlineSeconds'],
    );
  const windowMs = windowSeconds * 1000;
  const starts = log.procedures.map((p) => Date.parse(p.startedAt));
  const since = new Date(Math.min(...starts)).toISOString();
  const until = new Date(Math.max(...starts) + windowMs).toISOString();
  const index = indexSignals(await signalsBetween(deps, since, until, opts.maxSignals ?? MAX_MATCH_SIGNALS));
  const now = deps.clock.now().toISOString();
  const by = actorLabel(actor);
  const records: ExternalRunRecord[] = log.procedures.map((p) => {
    const d = withDeadline(detectionIn(p, log.target, index, windowMs, match), deadlineSeconds === null ? null : deadlineSeconds * 1000);
    return {
      id: attireRunId(log, p),
      format: 'attire',
      executionId: log.executionId,
      source: log.source,
      procedure: p.name,
      procedureId: p.procedureId,
      technique: p.technique,
      target: log.target,
      startedAt: p.startedAt,
      endedAt: p.endedAt,
      outcome: d.outcome,
      ttdMs: d.ttdMs,
      signalId: d.signalId,
      importedAt: now,
      importedBy: by,
    };
  });
  return deps.store.transaction(async (tx) => {
    const written = await tx.coverageExternalRuns.insertMany(records);
    const fresh = records.filter((_, i) => written[i]);
    if (fresh.length > 0)
      await tx.ledger.append(
        [
          {
            actor,
            kind: 'coverage.attire-imported',
            subject: `coverage:attire:${log.executionId.slice(0, 200)}`,
            data: {
              executionId: log.executionId,
              source: log.source,
              target: { host: log.target.host, ip: log.target.ip, user: log.target.user },
              windowSeconds,
              match,
              ...(deadlineSeconds !== null ? { deadlineSeconds } : {}),
              runs: fresh.map((r) => ({
                id: r.id,
                technique: r.technique,
                procedure: r.procedure,
                startedAt: r.startedAt,
                outcome: r.outcome,
                ttdMs: r.ttdMs,
                signalId: r.signalId,
              })),
              skipped: records.length - fresh.length,
            },
          },
        ],
        now,
      );
    return {
      executionId: log.executionId,
      source: log.source,
      target: log.target,
      windowSeconds,
      deadlineSeconds,
      match,
      runs: records.map((r, i) => ({
        id: r.id,
        technique: r.technique,
        procedure: r.procedure,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        outcome: r.outcome,
        ttdMs: r.ttdMs,
        signalId: r.signalId,
        imported: written[i]!,
      })),
    };
  });
}

/** The experiment name an imported run counts under in the map: its tool's, marked as imported. */
export const externalExperiment = (r: Pick<ExternalRunRecord, 'source'>): string => `${r.source} (ATTiRe)`;

/** An imported run as coverage reads it: its one technique, its outcome (detected-late counts as alerted, as a native run's), no per-control results (the control `default`). */
export function externalCoverageRun(r: ExternalRunRecord): CoverageRun {
  return {
    id: r.id,
    experiment: externalExperiment(r),
    techniques: [r.technique],
    outcome: r.outcome,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    ttdMs: r.ttdMs,
  };
}
