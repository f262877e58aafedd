/**
 * SLI events from experiment runs. A run counts once, at its end, for the SLOs whose selector it
 * matches (experiment name, ATT&CK technique, tag: all that are given). `not-run` (the gate
 * failed: nothing was injected) and `aborted` runs never count, nor do dry runs and runs not done:
 * they prove nothing about the control.
 *
 * - experiments: good = `prevented` or `detected` (every detection within its deadline); bad =
 *   `detected-late`, `missed`, `errored`, `rollback-failed` (a run that could not complete did
 *   not show the control works).
 * - time-to-detect: only runs that expected a detection count; good = time to detect ≤ threshold.
 */
import type { RunSelector, Sli, SliEvent } from './types.ts';

/** What the SLI needs of a run (from the experiments store's RunRecord and its journal). */
export interface RunFacts {
  experiment: string;
  outcome: string | null;
  endedAt: string | null;
  dryRun: boolean;
  ttdMs: number | null;
  techniques: readonly string[];
  tags: readonly string[];
  /** How many detections the run expected. */
  detectionsExpected: number;
}

const NEVER_COUNTED = new Set(['not-run', 'aborted']);
const GOOD = new Set(['prevented', 'detected']);

export function selects(s: RunSelector, r: RunFacts): boolean {
  return (
    (s.experiment === undefined || s.experiment === r.experiment) &&
    (s.technique === undefined || r.techniques.includes(s.technique)) &&
    (s.tag === undefined || r.tags.includes(s.tag))
  );
}

/** The event a run gives an SLI, or undefined when it does not count. */
export function runEvent(sli: Sli, r: RunFacts): SliEvent | undefined {
  if (sli.source !== 'experiments' && sli.source !== 'time-to-detect') return undefined;
  if (r.dryRun || r.outcome === null || r.endedAt === null || NEVER_COUNTED.has(r.outcome)) return undefined;
  if (!selects(sli.select, r)) return undefined;
  const at = Date.parse(r.endedAt);
  if (!Number.isFinite(at)) return undefined;
  if (sli.source === 'experiments') return { at, good: GOOD.has(r.outcome) ? 1 : 0, total: 1 };
  if (r.detectionsExpected === 0) return undefined;
  return { at, good: r.ttdMs !== null && r.ttdMs <= sli.thresholdMs ? 1 : 0, total: 1 };
}
