/**
 * What an incident is linked to, and what the links say. An incident names the SLOs it affected
 * and the ATT&CK techniques seen in it (at declaration or later; each link a ledger entry). From
 * them: the error budget each SLO spent over the incident's impact window, and the experiments
 * that exercise its techniques with what their runs said: whether the last run that ended before
 * the impact began predicted it (missed or detected late), and what the latest run says now.
 * Pure: the records and the times come in as arguments.
 */
import { invalid } from '../errors.ts';
import { SLO_NAME } from '../slos/schema-parts.ts';

/** An ATT&CK technique id: `T1110`, or a sub-technique `T1110.004`. */
export const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;
/** At most this many links of each kind on one incident. */
export const MAX_LINKS = 50;

/** The new links of a request: trimmed, deduplicated, checked; a clear error naming the bad one. */
export function checkLinks(input: { slos?: readonly string[]; techniques?: readonly string[] }): { slos: string[]; techniques: string[] } {
  const slos = [...new Set(input.slos ?? [])];
  const techniques = [...new Set((input.techniques ?? []).map((t) => t.toUpperCase()))];
  for (const s of slos)
    if (!SLO_NAME.test(s))
      throw invalid(`'${s.slice(0, 80)}' is not an SLO name (1–64 characters of a-z, 0-9 and "-", not starting or ending with "-")`);
  for (const t of techniques)
    if (!TECHNIQUE.test(t)) throw invalid(`'${t.slice(0, 80)}' is not an ATT&CK technique id; write it as T1110 or T1110.004`);
  if (slos.length > MAX_LINKS || techniques.length > MAX_LINKS)
    throw invalid(`link at most ${MAX_LINKS} SLOs and ${MAX_LINKS} techniques at once`);
  return { slos, techniques };
}

/** Whether an experiment's technique exercises the incident's: the same, or one is a sub-technique of the other. */
export function covers(experimentTechnique: string, incidentTechnique: string): boolean {
  const a = experimentTechnique.toUpperCase();
  const b = incidentTechnique.toUpperCase();
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** How long before its declaration an incident's impact may have begun (a longer lookback is refused). */
export const MAX_IMPACT_LOOKBACK_DAYS = 90;
const LOOKBACK_MS = MAX_IMPACT_LOOKBACK_DAYS * 86_400_000;
/** At most this many linked SLOs are evaluated per read (links, postmortem, export); the rest are listed unevaluated. */
export const MAX_EVALUATED_SLOS = 10;

/** An impact start given at declaration: not in the future, not more than the lookback before `now`. */
export function checkImpactStart(impactStartedAt: string | null | undefined, now: string): void {
  if (!impactStartedAt) return;
  const at = Date.parse(impactStartedAt);
  if (!Number.isFinite(at)) throw invalid('impactStartedAt is not a time; give it in RFC 3339 (2026-05-10T08:30:00Z)');
  if (at > Date.parse(now)) throw invalid('impactStartedAt is in the future; give the time the impact began');
  if (at < Date.parse(now) - LOOKBACK_MS)
    throw invalid(`impactStartedAt is more than ${MAX_IMPACT_LOOKBACK_DAYS} days before the declaration; give a later time`);
}

/**
 * The impact window budgets are counted over: impact start (or declaration) → mitigated (or
 * resolved, or now while active). The start is never more than the lookback before the
 * declaration (an impact start recorded before that bound was checked is clamped to it).
 */
export function impactWindow(
  i: { impactStartedAt: string | null; declaredAt: string; mitigatedAt: string | null; resolvedAt: string | null },
  now: string,
): { from: string; to: string; ongoing: boolean } {
  const earliest = Date.parse(i.declaredAt) - LOOKBACK_MS;
  const from =
    i.impactStartedAt !== null && Date.parse(i.impactStartedAt) < earliest
      ? new Date(earliest).toISOString()
      : (i.impactStartedAt ?? i.declaredAt);
  const end = i.mitigatedAt ?? i.resolvedAt;
  const to = end ?? now;
  return { from, to: Date.parse(to) < Date.parse(from) ? from : to, ongoing: end === null };
}

/** Outcomes that say a control did not do its job in time: a run ending so predicted the gap. */
export const PREDICTING_OUTCOMES: readonly string[] = ['missed', 'detected-late'];

export interface RunSummary {
  id: string;
  outcome: string;
  endedAt: string;
}

/** What the runs of one experiment said about the incident: the last before the impact, the latest. */
export function runVerdict(
  runs: readonly RunSummary[],
  impactFrom: string,
): { lastBefore: RunSummary | null; latest: RunSummary | null; predicted: boolean | null } {
  const sorted = [...runs].sort((a, b) => Date.parse(b.endedAt) - Date.parse(a.endedAt) || b.id.localeCompare(a.id));
  const latest = sorted[0] ?? null;
  const lastBefore = sorted.find((r) => Date.parse(r.endedAt) <= Date.parse(impactFrom)) ?? null;
  return { lastBefore, latest, predicted: lastBefore ? PREDICTING_OUTCOMES.includes(lastBefore.outcome) : null };
}

/** An SLO link as the incident shows it. */
export interface SloLinkView {
  slo: string;
  /** evaluated: `consumed` is the share of the budget spent over the window; otherwise `note` says why not. */
  state: 'evaluated' | 'unknown' | 'not-read' | 'missing';
  from: string;
  to: string;
  consumed: number | null;
  bad: number | null;
  events: number | null;
  period: { start: string; end: string } | null;
  note: string | null;
}

export interface ExperimentLinkView {
  experiment: string;
  title: string;
  /** The incident's techniques it exercises. */
  techniques: string[];
  lastBefore: RunSummary | null;
  latest: RunSummary | null;
  /** true: the last run before the impact missed it or detected it late; false: it did its job; null: no run before. */
  predicted: boolean | null;
}

export interface IncidentLinks {
  window: { from: string; to: string; ongoing: boolean };
  slos: SloLinkView[];
  techniques: string[];
  experiments: ExperimentLinkView[];
}

const pct = (x: number) => `${(Math.round(x * 10000) / 100).toFixed(2)}%`;
const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
const hhmm = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

/** The budget lines of the postmortem's impact section. */
export function budgetLines(l: IncidentLinks): string[] {
  if (l.slos.length === 0) return ['- Error budget consumed: no SLO is linked to this incident'];
  const out = [`- Error budget consumed, ${hhmm(l.window.from)} – ${hhmm(l.window.to)}${l.window.ongoing ? ' (ongoing)' : ''}:`];
  for (const s of l.slos)
    out.push(
      s.state === 'evaluated'
        ? `  - SLO \`${s.slo}\`: ${pct(s.consumed!)} of the budget of the period ${hhmm(s.period!.start)} – ${hhmm(s.period!.end)} (${num(s.bad!)} bad of ${s.events} events)`
        : `  - SLO \`${s.slo}\`: not computed (${s.note ?? s.state})`,
    );
  return out;
}

/** The postmortem's coverage section: the experiments that exercise the incident's techniques. */
export function coverageLines(l: IncidentLinks): string[] {
  if (l.techniques.length === 0) return ['No ATT&CK technique is noted on this incident.'];
  const out = [`Techniques: ${l.techniques.join(', ')}.`, ''];
  if (l.experiments.length === 0) {
    out.push('No experiment exercises these techniques: nothing could have predicted this incident.');
    return out;
  }
  for (const e of l.experiments) {
    const before = e.lastBefore
      ? `last run before the impact ${e.lastBefore.outcome} (${hhmm(e.lastBefore.endedAt)})`
      : 'no run before the impact';
    const verdict = e.predicted === true ? 'predicted' : e.predicted === false ? 'not predicted' : 'no prediction';
    const latest = e.latest && e.latest.id !== e.lastBefore?.id ? `; latest run ${e.latest.outcome} (${hhmm(e.latest.endedAt)})` : '';
    out.push(`- \`${e.experiment}\` (${e.techniques.join(', ')}): ${verdict}: ${before}${latest}`);
  }
  return out;
}
