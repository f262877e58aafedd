/**
 * The KRIs from the records: runs (through the experiments store port), the coverage map (through
 * the coverage capability's use case, read only) and the SLOs' statuses. A source that fails makes
 * its KRI "unknown", not green.
 */
import { KRI_NAMES, evaluateKri, type KriInput, type KriName, type KriResult } from '../../core/slos/kris.ts';
import { coverageMap } from '../coverage/coverage.ts';
import { toilKri } from '../playbooks/toil.ts';
import type { AppDeps } from '../deps.ts';
import type { SloStatus } from './slo-status.ts';

const DAY = 86_400_000;
const PAGE = 500;
const PASSED = new Set(['prevented', 'detected']);
const FAILED = new Set(['missed', 'detected-late', 'errored', 'rollback-failed']);

async function fromRuns(deps: Pick<AppDeps, 'store'>, now: number): Promise<{ missed: KriInput; regressed: KriInput }> {
  const missed: string[] = [];
  // Newest first: each experiment's last counted outcome, and whether an earlier run passed.
  const last = new Map<string, { outcome: string; passedBefore: boolean }>();
  let cursor: { startedAt: string; id: string } | undefined;
  for (;;) {
    const page = await deps.store.runs.list({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const r of page.runs) {
      if (r.dryRun || r.outcome === null || r.endedAt === null) continue;
      if (r.outcome === 'missed' && Date.parse(r.endedAt) > now - 30 * DAY) missed.push(`${r.experiment}/${r.id}`);
      if (!PASSED.has(r.outcome) && !FAILED.has(r.outcome)) continue;
      const seen = last.get(r.experiment);
      if (!seen) last.set(r.experiment, { outcome: r.outcome, passedBefore: false });
      else if (PASSED.has(r.outcome)) seen.passedBefore = true;
    }
    if (!page.next) break;
    cursor = page.next;
  }
  const applied = new Set((await deps.store.experiments.list()).map((e) => e.name));
  const regressed = [...last].filter(([name, l]) => applied.has(name) && FAILED.has(l.outcome) && l.passedBefore).map(([name]) => name);
  return { missed: { value: missed.length, items: missed }, regressed: { value: regressed.length, items: regressed } };
}

async function fromCoverage(deps: Pick<AppDeps, 'store' | 'clock'>, now: number): Promise<KriInput> {
  const map = await coverageMap(deps);
  const idle = map.cells
    .filter((c) => c.inScope && (c.verifiedAt === null || Date.parse(c.verifiedAt) <= now - 30 * DAY))
    .map((c) => c.technique);
  return { value: idle.length, items: idle };
}

function fromSlos(statuses: readonly SloStatus[]): { low: KriInput; freezing: KriInput; postmortems: KriInput } {
  const low = statuses.filter((s) => s.budget?.enoughData && s.budget.remaining < 0.1).map((s) => s.record.name);
  // An SLO whose source cannot answer (unknown) keeps the state last recorded: an outage of its
  // Prometheus does not lift a freeze.
  const freezing = statuses
    .filter((s) => s.policy?.state === 'freeze' || (s.state === 'unknown' && s.record.policyState === 'freeze'))
    .map((s) => s.record.name);
  // Each incident once, whichever SLOs require its postmortem (restricted ones are only in statuses
  // computed for a caller who may see them, and then counted, not named).
  const missing = new Map<number, string>();
  let unreadable: string | undefined;
  for (const s of statuses) {
    const c = s.policy?.postmortem;
    if (!c) continue;
    if (!c.evaluated) {
      if (s.model.policy?.postmortemBelow !== undefined) unreadable = c.why;
      continue;
    }
    for (const id of c.missing) missing.set(id, `incident ${id}`);
    for (const id of c.restricted.missing) if (!missing.has(id)) missing.set(id, 'a restricted incident');
  }
  const postmortems: KriInput =
    unreadable !== undefined && missing.size === 0
      ? { value: null, unknownBecause: unreadable }
      : { value: missing.size, items: [...missing.values()] };
  return { low: { value: low.length, items: low }, freezing: { value: freezing.length, items: freezing }, postmortems };
}

const unknown = (e: unknown): KriInput => ({ value: null, unknownBecause: `its records could not be read: ${(e as Error).message}` });

/** Every KRI now, given the SLOs' statuses (GET /v1/slos computes them too). */
export async function evaluateKris(deps: Pick<AppDeps, 'store' | 'clock'>, statuses: readonly SloStatus[]): Promise<KriResult[]> {
  const now = deps.clock.now().getTime();
  const inputs = new Map<KriName, KriInput>();
  try {
    const r = await fromRuns(deps, now);
    inputs.set('missed-detections-30d', r.missed);
    inputs.set('controls-regressed', r.regressed);
  } catch (e) {
    inputs.set('missed-detections-30d', unknown(e));
    inputs.set('controls-regressed', unknown(e));
  }
  try {
    inputs.set('techniques-not-exercised-30d', await fromCoverage(deps, now));
  } catch (e) {
    inputs.set('techniques-not-exercised-30d', unknown(e));
  }
  try {
    inputs.set('toil-due-for-automation', await toilKri(deps));
  } catch (e) {
    inputs.set('toil-due-for-automation', unknown(e));
  }
  const s = fromSlos(statuses);
  inputs.set('slos-low-budget', s.low);
  inputs.set('slos-freezing', s.freezing);
  inputs.set('postmortems-missing', s.postmortems);
  return KRI_NAMES.map((k) => evaluateKri(k, inputs.get(k)!));
}
