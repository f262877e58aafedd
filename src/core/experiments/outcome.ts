/**
 * One outcome per run, decided in a fixed order so that no run is ever two things at once:
 * a failed rollback hides every other result, because the system may now be left broken.
 *
 * | order | outcome           | when                                                                  |
 * | ----- | ----------------- | --------------------------------------------------------------------- |
 * | 1     | `rollback-failed` | any rollback, or the probe verifying it, failed                       |
 * | 2     | `not-run`         | the steady-state hypothesis failed before the method (the gate)       |
 * | 3     | `aborted`         | a safety condition tripped or a person stopped the run                |
 * | 4     | `errored`         | the run could not complete (an activity or Bulwark failed)            |
 * | 5     | `prevented`       | blocking was asked and held, and every detection met its deadline     |
 * |       |                   | (or none was asked); with nothing asked at all: the system held       |
 * | 6     | `detected`        | not blocked (not asked, or failed), every detection met its deadline  |
 * | 7     | `detected-late`   | every detection arrived, at least one after its deadline              |
 * | 8     | `missed`          | a detection never arrived; or blocking failed and no detection was    |
 * |       |                   | asked; or nothing was asked and the steady state deviated             |
 *
 * Where the issue is silent: with neither `blocked` nor `detected` asked (a plain Chaos Toolkit
 * file), the steady state after the method is the hypothesis — held (or none declared) means
 * `prevented`, deviated means `missed`. A deviated steady state also counts as a failed block
 * when blocking was asked: the control did not keep the system steady. A detection exactly at
 * its deadline is in time.
 *
 * Per-control results (controls.ts) sit beside the outcome and do not change it: a detection
 * that asked `must: alerted` and was only logged is not met (so `missed`, the reason says
 * "logged but not alerted"), while its control keeps the finding `logged-not-alerted` and the
 * coverage map shows it `logged`, not `none`. A detection met by another rule than the one it
 * names is met; the rule's own regression says the rest.
 */

export const OUTCOMES = ['rollback-failed', 'not-run', 'aborted', 'errored', 'prevented', 'detected', 'detected-late', 'missed'] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** What happened in a run, reduced to what the outcome depends on. */
export interface RunSummary {
  rollbacks: { ok: boolean; name?: string }[];
  /** The steady-state hypothesis before the method; `skipped` when there is none or on a dry run. */
  gate: 'passed' | 'failed' | 'skipped';
  aborted?: { reason: string };
  error?: string;
  /** Whether a `blocked` expectation was asked and whether it held. */
  blocked?: { asked: boolean; held: boolean };
  /** `loggedNotAlerted`: an alert was asked (`must: alerted`) and only a log source saw it. */
  detections: { name: string; deadlineMs: number; detectedAfterMs?: number; loggedNotAlerted?: boolean }[];
  /** The steady-state hypothesis after the method, where one was run. */
  steadyStateAfter?: 'held' | 'deviated';
}

export interface OutcomeDecision {
  outcome: Outcome;
  reason: string;
  /** True when everything the experiment asked for was met: the CLI exits 0. */
  expectationsMet: boolean;
}

/** Decide a run's single outcome from its summary, in the order of the table above. */
export function decideOutcome(run: RunSummary): OutcomeDecision {
  const failed = (outcome: Outcome, reason: string): OutcomeDecision => ({ outcome, reason, expectationsMet: false });
  const badRollbacks = run.rollbacks.flatMap((r, i) => (r.ok ? [] : [r.name ?? `#${i + 1}`]));
  if (badRollbacks.length > 0) {
    const names = badRollbacks;
    return failed('rollback-failed', `rollback failed: ${names.join(', ')}; the system may not be restored`);
  }
  if (run.gate === 'failed') return failed('not-run', 'the steady-state hypothesis failed before the method; nothing was injected');
  if (run.aborted) return failed('aborted', `aborted: ${run.aborted.reason}`);
  if (run.error !== undefined) return failed('errored', `errored: ${run.error}`);

  const deviated = run.steadyStateAfter === 'deviated';
  const blockedAsked = run.blocked?.asked ?? false;
  const blockedHeld = blockedAsked && run.blocked!.held && !deviated;
  const missing = run.detections.filter((d) => d.detectedAfterMs === undefined);
  const late = run.detections.filter((d) => d.detectedAfterMs !== undefined && d.detectedAfterMs > d.deadlineMs);
  const detectionAsked = run.detections.length > 0;
  const blockText = blockedAsked
    ? blockedHeld
      ? 'blocked'
      : deviated && run.blocked!.held
        ? 'blocked but the steady state deviated'
        : 'not blocked'
    : '';

  if (!blockedAsked && !detectionAsked) {
    return deviated
      ? failed('missed', 'nothing was expected beyond the steady state, which deviated after the method')
      : { outcome: 'prevented', reason: 'nothing was expected beyond the steady state, which held', expectationsMet: true };
  }
  if (missing.length > 0) {
    const names = missing.map((d) => (d.loggedNotAlerted ? `${d.name} (logged but not alerted)` : d.name));
    return failed('missed', `${blockText ? `${blockText}; ` : ''}not detected: ${names.join(', ')}`);
  }
  if (late.length > 0) {
    const what = late.map((d) => `${d.name} after ${d.detectedAfterMs}ms (deadline ${d.deadlineMs}ms)`).join(', ');
    return failed('detected-late', `${blockText ? `${blockText}; ` : ''}detected late: ${what}`);
  }
  if (blockedHeld) {
    return {
      outcome: 'prevented',
      reason: detectionAsked ? 'blocked, and every detection met its deadline' : 'blocked',
      expectationsMet: true,
    };
  }
  if (!detectionAsked) return failed('missed', `${blockText}, and no detection was expected`);
  return {
    outcome: 'detected',
    reason: `${blockText ? `${blockText}; ` : ''}every detection met its deadline`,
    expectationsMet: !blockedAsked,
  };
}

/**
 * Exit codes of `bulwark run`: 0 when everything asked was met (`prevented`, or `detected`
 * when blocking was not asked), otherwise a distinct code per outcome. 1 and 2 stay free for
 * the CLI's own failures (an invalid file, a bad flag).
 */
export const EXIT_CODES: Readonly<Record<Outcome, number>> = {
  prevented: 0,
  detected: 3,
  'detected-late': 4,
  missed: 5,
  'not-run': 6,
  aborted: 7,
  errored: 8,
  'rollback-failed': 9,
};

/** The process exit code for a decided run. */
export function exitCodeFor(decision: OutcomeDecision): number {
  return decision.expectationsMet ? 0 : EXIT_CODES[decision.outcome];
}
