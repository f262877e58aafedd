/**
 * Tabletop exercises: an incident in exercise mode, driven by a scenario file. Starting one
 * declares the incident (title prefixed `[Exercise]`), marks it an exercise (so its times stay out
 * of the production KPIs and no webhook is told), keeps the scenario as evidence, and gives the
 * injects due at the start; `advance` gives those whose offset has passed (the serve job calls it
 * every few seconds); answers to the questions are timeline entries; ending it generates the
 * report. The team responds with the ordinary commands: roles, notes, status, tasks.
 */
import { conflict, invalid, notFound } from '../../core/errors.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { exerciseReportMarkdown } from '../../core/incidents/exercise-report.ts';
import { parseScenario, type Scenario } from '../../core/incidents/scenario.ts';
import type { IncidentRecord, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { collect } from './evidence.ts';
import { declareIn } from './incidents.ts';
import { entry, record, sha256Hex, timelineEvent, visibleIncident } from './record.ts';

const SCENARIO_NAME = 'tabletop-scenario.yaml';

export async function startExercise(deps: AppDeps, actor: Actor, file: string): Promise<{ incident: IncidentRecord; injects: number }> {
  const r = parseScenario(file);
  if (!r.ok) {
    const e = r.errors[0]!;
    throw invalid(`the scenario file: line ${e.line}, column ${e.column}: ${e.message}`, r.errors);
  }
  const now = iso(deps.clock);
  const out = await deps.store.transaction(async (tx) => {
    const incident = await declareIn(
      deps,
      tx,
      actor,
      { title: `[Exercise] ${r.scenario.title}`.slice(0, 300), severity: r.scenario.severity, priority: r.scenario.priority },
      now,
      null,
      true,
    );
    const ev = await collect(
      tx,
      actor,
      incident.id,
      { name: SCENARIO_NAME, mediaType: 'application/yaml', bytes: Buffer.from(file, 'utf8'), origin: 'exercise' },
      now,
    );
    await record(
      tx,
      [
        entry(actor, 'incident.exercise.started', `incident:${incident.id}`, {
          incident: incident.id,
          title: r.scenario.title,
          scenario: ev.item.sha256,
          injects: r.scenario.injects.length,
          questions: r.scenario.questions.length,
        }),
        ...ev.entries,
      ],
      now,
    );
    return incident;
  });
  const given = await advanceExercise(deps, out.id);
  return { incident: out, injects: given };
}

async function scenarioOf(tx: Repos, id: number): Promise<Scenario> {
  const ev = (await tx.incidents.evidence(id)).find((e) => e.name === SCENARIO_NAME && e.origin === 'exercise');
  const blob = ev ? await tx.incidents.getBlob(ev.sha256) : undefined;
  const r = blob ? parseScenario(blob.bytes.toString('utf8')) : undefined;
  if (!r?.ok) throw notFound(`incident ${id}'s scenario is not stored`);
  return r.scenario;
}

async function exerciseIn(tx: Repos, id: number): Promise<{ scenario: Scenario; events: ReturnType<typeof timelineEvent>[] }> {
  if (!(await tx.incidents.exerciseIds()).includes(id)) throw notFound(`incident ${id} is not a tabletop exercise`);
  const events = (await tx.incidents.timeline(`incident:${id}`, { limit: 1_000_000 })).map(timelineEvent);
  return { scenario: await scenarioOf(tx, id), events };
}

/** Give the injects of exercise `id` whose offset has passed; how many were given now. */
export async function advanceExercise(deps: AppDeps, id: number): Promise<number> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const { scenario, events } = await exerciseIn(tx, id);
    if (events.some((e) => e.kind === 'incident.exercise.ended')) return 0;
    const i = (await tx.incidents.getIncident(id))!;
    const given = new Set(events.filter((e) => e.kind === 'incident.exercise.inject').map((e) => Number(e.data.inject)));
    const elapsed = Date.parse(now) - Date.parse(i.declaredAt);
    const due = scenario.injects.map((inj, k) => ({ inj, n: k + 1 })).filter(({ inj, n }) => inj.atMs <= elapsed && !given.has(n));
    await record(
      tx,
      due.map(({ inj, n }) =>
        entry(systemActor('exercise'), 'incident.exercise.inject', `incident:${id}`, { incident: id, inject: n, text: inj.text }),
      ),
      now,
    );
    return due.length;
  });
}

/** Give what is due in every running exercise (the serve job). */
export async function advanceExercises(deps: AppDeps): Promise<number> {
  let n = 0;
  for (const id of await deps.store.incidents.exerciseIds({ running: true })) n += await advanceExercise(deps, id);
  return n;
}

export async function answerQuestion(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  id: number,
  question: string,
  text: string,
): Promise<void> {
  const now = iso(deps.clock);
  await deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const { scenario, events } = await exerciseIn(tx, id);
    if (events.some((e) => e.kind === 'incident.exercise.ended')) throw conflict(`exercise ${id} has ended`);
    if (!scenario.questions.some((q) => q.id === question))
      throw invalid(
        `the scenario has no question '${question}'; its questions are ${scenario.questions.map((q) => q.id).join(', ') || 'none'}`,
      );
    await record(tx, [entry(actor, 'incident.exercise.answered', `incident:${id}`, { incident: id, question, text })], now);
  });
}

/** The exercise's report, as it stands (or as it ended). */
export async function exerciseReport(deps: Pick<AppDeps, 'store'>, viewer: Viewer, id: number): Promise<string> {
  return deps.store.transaction((tx) => reportIn(tx, viewer, id));
}

async function reportIn(tx: Repos, viewer: Viewer, id: number, endedAt?: string): Promise<string> {
  const i = await visibleIncident(tx, id, viewer);
  const { scenario, events } = await exerciseIn(tx, id);
  const commander = (await tx.incidents.roles(id))
    .filter((r) => r.role === 'commander')
    .sort((a, b) => Date.parse(a.from) - Date.parse(b.from))[0];
  return exerciseReportMarkdown({
    incident: i,
    scenario,
    events,
    firstCommanderAt: commander?.from ?? null,
    endedAt: endedAt ?? events.find((e) => e.kind === 'incident.exercise.ended')?.time ?? null,
  });
}

/** End the exercise: the report is generated and recorded (its digest), and no more injects come. */
export async function endExercise(deps: AppDeps, actor: Actor, viewer: Viewer, id: number): Promise<{ markdown: string; sha256: string }> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, id, viewer);
    const { events } = await exerciseIn(tx, id);
    if (events.some((e) => e.kind === 'incident.exercise.ended')) throw conflict(`exercise ${id} has ended already`);
    const markdown = await reportIn(tx, viewer, id, now);
    await tx.incidents.markExerciseEnded(id);
    await record(tx, [entry(actor, 'incident.exercise.ended', `incident:${id}`, { incident: id, report: sha256Hex(markdown) })], now);
    return { markdown, sha256: sha256Hex(markdown) };
  });
}
