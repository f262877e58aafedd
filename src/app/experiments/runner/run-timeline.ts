/**
 * A run's timeline, read from its stored journal (journal.ts): start, the gate, each injection
 * with the time it left, the other activities and probes, each detection with its time to
 * detect and the signal that made it, the abort, each rollback with its verdict, the outcome.
 * Events are in time order; events at the same instant keep the order the run went through.
 * Journals of recovered runs (../recover.ts) and of runs still going are read the same way.
 */
import type { RunRecord } from '../../../store/experiments/port.ts';

export const TIMELINE_KINDS = ['started', 'gate', 'injection', 'probe', 'action', 'detection', 'abort', 'rollback', 'finished'] as const;

export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  label: string;
  ok?: boolean;
  detail?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isTime = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));

/** One journal entry of an activity (run, steady_states.*, rollbacks), as journal.ts and ../recover.ts write it. */
function activityEntry(v: unknown) {
  const e = obj(v);
  const a = obj(e.activity);
  const ok = typeof e.ok === 'boolean' ? e.ok : e.status === 'succeeded' && e.tolerance_met !== false && e.tolerance_met !== 'false';
  const why = str(e.exception) ?? (e.tolerance_met === false ? str(e.tolerance_reason) : undefined);
  return {
    name: str(a.name) ?? '(unnamed)',
    type: str(a.type) === 'probe' ? ('probe' as const) : ('action' as const),
    start: str(e.start),
    end: str(e.end),
    sentAt: str(e.sent_at),
    status: str(e.status),
    ok,
    why,
  };
}

export function runTimeline(
  run: Pick<RunRecord, 'startedAt' | 'endedAt' | 'state' | 'outcome' | 'reason' | 'ttdMs' | 'dryRun' | 'journal'>,
): TimelineEvent[] {
  const j = obj(run.journal);
  const b = obj(j.bulwark);
  const events: TimelineEvent[] = [];
  const push = (e: TimelineEvent) => {
    if (isTime(e.at)) events.push(e);
  };
  const start = str(j.start) ?? run.startedAt;
  push({
    at: start,
    kind: 'started',
    label: run.dryRun ? 'dry run: the plan was checked, nothing was sent' : 'run started',
    detail: { actor: b.actor ?? null, techniques: arr(b.techniques), dryRun: run.dryRun },
  });

  const steady = obj(j.steady_states);
  const before = obj(steady.before);
  const gateProbes = arr(before.probes).map(activityEntry);
  for (const p of gateProbes)
    push({
      at: p.end ?? p.start ?? start,
      kind: 'probe',
      label: `steady state before: probe '${p.name}'`,
      ok: p.ok,
      ...(p.why ? { detail: { reason: p.why } } : {}),
    });
  if (typeof before.steady_state_met === 'boolean') {
    const last = gateProbes.at(-1);
    push({
      at: last?.end ?? start,
      kind: 'gate',
      label: before.steady_state_met ? 'steady state holds: the method runs' : 'steady state does not hold: nothing was injected',
      ok: before.steady_state_met,
      detail: { probes: gateProbes.map((p) => ({ name: p.name, ok: p.ok })) },
    });
  }

  const blockedResults = arr(obj(b.blocked).results).map(obj);
  const injections = arr(b.injections).map(obj);
  const injectedKeys = new Set<string>();
  injections.forEach((inj, i) => {
    const name = str(inj.activity) ?? '(unnamed)';
    const at = str(inj.at) ?? start;
    injectedKeys.add(`${name}\u0000${at}`);
    const verdict = blockedResults.filter((r) => r.activity === name)[injections.slice(0, i).filter((x) => x.activity === name).length];
    push({
      at,
      kind: 'injection',
      label: `injected '${name}'${num(inj.status) !== undefined ? `: status ${String(inj.status)}` : ''}${str(inj.error) ? `: ${String(inj.error)}` : ''}`,
      ok: inj.ok === true,
      detail: {
        activity: name,
        ...(num(inj.status) !== undefined ? { status: inj.status } : {}),
        ...(str(inj.error) ? { error: inj.error } : {}),
        ...(verdict ? { blocked: { ok: verdict.ok === true, reason: str(verdict.reason) ?? '' } } : {}),
      },
    });
  });

  for (const raw of arr(j.run)) {
    const a = activityEntry(raw);
    const at = a.sentAt ?? a.start ?? start;
    if (injectedKeys.has(`${a.name}\u0000${at}`) || injectedKeys.has(`${a.name}\u0000${a.start ?? ''}`)) continue;
    push({
      at,
      kind: a.type,
      label: `${a.type} '${a.name}': ${a.status ?? 'unknown'}`,
      ok: a.ok,
      ...(a.why ? { detail: { reason: a.why } } : {}),
    });
  }
  for (const raw of arr(steady.during)) {
    const a = activityEntry(raw);
    push({
      at: a.end ?? a.start ?? start,
      kind: 'probe',
      label: `abort condition '${a.name}'`,
      ok: a.ok,
      ...(a.why ? { detail: { reason: a.why } } : {}),
    });
  }
  for (const raw of arr(obj(steady.after).probes)) {
    const a = activityEntry(raw);
    push({
      at: a.end ?? a.start ?? start,
      kind: 'probe',
      label: `steady state after: probe '${a.name}'`,
      ok: a.ok,
      ...(a.why ? { detail: { reason: a.why } } : {}),
    });
  }

  const firstInjection = injections.map((i) => str(i.at)).find(isTime);
  for (const d of arr(b.detections).map(obj)) {
    const name = str(d.name) ?? '(unnamed)';
    const m = d.match === null || d.match === undefined ? undefined : obj(d.match);
    if (m) {
      const late = m.late === true;
      push({
        at: str(m.receivedAt) ?? start,
        kind: 'detection',
        label: `detected '${name}' ${String(m.ttdMs)} ms after the injection${late ? ', after its deadline' : ''}`,
        ok: !late,
        detail: {
          name,
          ttdMs: m.ttdMs,
          signalId: m.signalId,
          source: m.source,
          by: m.by,
          deadlineMs: m.deadlineMs,
          late,
          sourceTime: m.sourceTime,
          sourceTtdMs: m.sourceTtdMs,
        },
      });
    } else if (run.state === 'done' && firstInjection !== undefined && num(d.deadlineMs) !== undefined) {
      // Not seen by the deadline: shown where the deadline fell.
      push({
        at: new Date(Date.parse(firstInjection) + num(d.deadlineMs)!).toISOString(),
        kind: 'detection',
        label: `no detection '${name}' within ${String(d.deadlineMs)} ms`,
        ok: false,
        detail: { name, deadlineMs: d.deadlineMs, when: d.when ?? null },
      });
    }
  }

  const rollbacks = arr(j.rollbacks).map(activityEntry);
  const aborted = str(b.aborted);
  if (aborted !== undefined) {
    push({
      at: rollbacks[0]?.start ?? str(j.end) ?? run.endedAt ?? start,
      kind: 'abort',
      label: `aborted: ${aborted}`,
      ok: false,
      detail: { reason: aborted },
    });
  }
  const recovery = obj(b.recovery);
  for (const r of rollbacks) {
    push({
      at: r.start ?? r.end ?? start,
      kind: 'rollback',
      label: `rollback '${r.name}': ${r.ok ? 'ok' : 'FAILED'}`,
      ok: r.ok,
      ...(r.why || recovery.by ? { detail: { ...(r.why ? { reason: r.why } : {}), ...(recovery.by ? { recovery: true } : {}) } } : {}),
    });
  }

  if (run.state === 'done') {
    const outcome = run.outcome ?? (run.dryRun ? 'dry run' : 'unknown');
    push({
      at: str(j.end) ?? run.endedAt ?? start,
      kind: 'finished',
      // Reasons often start with the outcome already ("aborted: stopped by …"): say it once.
      label: !run.reason ? outcome : run.reason.startsWith(`${outcome}:`) ? run.reason : `${outcome}: ${run.reason}`,
      ok: run.outcome === null ? true : run.outcome === 'prevented' || run.outcome === 'detected',
      detail: {
        outcome: run.outcome,
        reason: run.reason,
        ttdMs: run.ttdMs,
        expectationsMet: b.expectationsMet ?? null,
        ...(b.blocked !== undefined ? { blocked: { asked: obj(b.blocked).asked ?? null, held: obj(b.blocked).held ?? null } } : {}),
        ...(str(b.error) ? { error: b.error } : {}),
      },
    });
  }
  // Stable: events at one instant keep the order pushed above (the order of the run).
  return events
    .map((e, i) => ({ e, i, t: Date.parse(e.at) }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.e);
}
