/**
 * Tasks of an incident and recovery checklists: add, change (status, owner, due time, title),
 * list; a checklist from a template of the settings file becomes one task per item, owned by
 * whoever holds the item's role at that instant. Every change is one transaction with its ledger
 * entries, on the incident's timeline.
 */
import { conflict, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { NewEntry } from '../../core/ledger/entry.ts';
import { checklistTasks, taskMove, type TaskStatus } from '../../core/incidents/tasks.ts';
import type { TaskPatch, TaskRecord, Viewer } from '../../store/incidents/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { currentSettings, entry, record, visibleIncident } from './record.ts';

export interface TaskInput {
  title: string;
  owner?: string | null;
  dueAt?: string | null;
}

function checkDue(dueAt: string | null | undefined): void {
  if (dueAt !== undefined && dueAt !== null && !Number.isFinite(Date.parse(dueAt)))
    throw invalid(`dueAt '${dueAt}' is not a time; give an RFC 3339 time such as 2026-03-01T12:00:00Z`);
}

const normal = (dueAt: string | null | undefined) => (dueAt ? new Date(Date.parse(dueAt)).toISOString() : dueAt);

async function insertTask(tx: Repos, actor: Actor, incident: number, t: TaskInput, checklist: string | null, now: string) {
  const id = await tx.incidents.nextNumber(`task:${incident}`);
  const task: TaskRecord = {
    incidentId: incident,
    id,
    title: t.title,
    owner: t.owner ?? null,
    dueAt: normal(t.dueAt) ?? null,
    status: 'open',
    checklist,
    createdAt: now,
    createdBy: actorLabel(actor),
    updatedAt: now,
    doneAt: null,
  };
  await tx.incidents.insertTask(task);
  const e = entry(actor, 'incident.task.added', `incident:${incident}`, {
    incident,
    task: id,
    title: task.title,
    owner: task.owner,
    dueAt: task.dueAt,
    checklist,
  });
  return { task, entry: e };
}

export async function addTask(deps: AppDeps, actor: Actor, viewer: Viewer, incident: number, input: TaskInput): Promise<TaskRecord> {
  checkDue(input.dueAt);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, incident, viewer);
    const r = await insertTask(tx, actor, incident, input, null, now);
    await record(tx, [r.entry], now);
    return r.task;
  });
}

/** Instantiate a recovery checklist (a template of the settings file) as tasks. */
export async function addChecklist(deps: AppDeps, actor: Actor, viewer: Viewer, incident: number, template: string): Promise<TaskRecord[]> {
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, incident, viewer);
    const settings = await currentSettings(deps, tx);
    const t = settings.checklists.find((c) => c.name === template);
    if (!t)
      throw invalid(
        `no checklist template '${template}'; the settings have ${settings.checklists.map((c) => c.name).join(', ') || 'none'}`,
      );
    const out: TaskRecord[] = [];
    const entries: NewEntry[] = [];
    for (const item of checklistTasks(t, await tx.incidents.roles(incident), now)) {
      const r = await insertTask(tx, actor, incident, item, t.name, now);
      out.push(r.task);
      entries.push(r.entry);
    }
    entries.push(
      entry(actor, 'incident.checklist.added', `incident:${incident}`, { incident, checklist: t.name, tasks: out.map((x) => x.id) }),
    );
    await record(tx, entries, now);
    return out;
  });
}

export interface TaskChange {
  title?: string;
  owner?: string | null;
  dueAt?: string | null;
  status?: TaskStatus;
}

/** Change a task; only what differs is recorded, and a change that changes nothing is refused. */
export async function changeTask(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  incident: number,
  id: number,
  input: TaskChange,
): Promise<TaskRecord> {
  checkDue(input.dueAt);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    await visibleIncident(tx, incident, viewer);
    const t = await tx.incidents.getTask(incident, id);
    if (!t) throw notFound(`incident ${incident} has no task ${id}; GET /v1/incidents/${incident}/tasks lists them`);
    const changes: TaskChange = {};
    if (input.title !== undefined && input.title !== t.title) changes.title = input.title;
    if (input.owner !== undefined && input.owner !== t.owner) changes.owner = input.owner;
    const due = normal(input.dueAt);
    if (due !== undefined && due !== t.dueAt) changes.dueAt = due;
    if (input.status !== undefined) changes.status = taskMove(incident, id, t.status, input.status);
    if (Object.keys(changes).length === 0) throw conflict(`task ${id} of incident ${incident} is like that already`);
    const patch: TaskPatch = { ...changes, updatedAt: now };
    if (changes.status) patch.doneAt = changes.status === 'done' ? now : null;
    if (!(await tx.incidents.updateTask(incident, id, t.status, patch)))
      throw conflict(`task ${id} of incident ${incident} changed while this request ran; read it again and retry`);
    await record(
      tx,
      [entry(actor, 'incident.task.changed', `incident:${incident}`, { incident, task: id, from: t.status, changes: { ...changes } })],
      now,
    );
    return (await tx.incidents.getTask(incident, id))!;
  });
}

export async function listTasks(
  deps: Pick<AppDeps, 'store'>,
  viewer: Viewer,
  incident: number,
  q: { status?: TaskStatus } = {},
): Promise<TaskRecord[]> {
  await visibleIncident(deps.store, incident, viewer);
  return deps.store.incidents.tasks(incident, q);
}
