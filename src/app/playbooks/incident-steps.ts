/**
 * `incident` and `case` steps: one operation of the incidents capability (open an incident, add a
 * note, set its status, add a task; acknowledge, close or escalate a case), done through its use
 * cases (app/incidents/), never its tables, so its rules, ledger entries and webhooks are the same
 * as when a person does it. The engine calls `applyIncidentOp` with a store bound to its own
 * transaction: the operation commits with the step recorded done, or not at all, so a restart
 * never does it twice.
 *
 * The engine acts as the playbook (`playbook:NAME`, a system actor) and sees incidents as a viewer
 * of that id who is not allowed restricted ones: a playbook reaches a restricted incident only when
 * it opened it (the declarer is a participant), never one another playbook opened. Who applied the
 * playbook needed incidents:write (apply-playbook.ts).
 */
import { invalid } from '../../core/errors.ts';
import type { Actor } from '../../core/ledger/actor.ts';
import { INCIDENT_STATUSES, PRIORITIES, type IncidentStatus, type Priority } from '../../core/incidents/model.ts';
import type { IncidentOp } from '../../core/playbooks/types.ts';
import type { Viewer } from '../../store/incidents/port.ts';
import type { Repos, Store } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';
import { acknowledgeCase, closeCase, escalateCase } from '../incidents/cases.ts';
import { addNote, declareIncident, setIncidentStatus } from '../incidents/incidents.ts';
import { addTask } from '../incidents/tasks.ts';

/** The store as the incidents use cases see it, inside `tx`: their own transaction is this one. */
export function storeIn(tx: Repos): Store {
  return Object.assign(Object.create(null) as object, tx, { transaction: <T>(fn: (r: Repos) => Promise<T>) => fn(tx) }) as Store;
}

const text = (v: unknown, what: string, max: number): string => {
  const s = (typeof v === 'string' ? v : JSON.stringify(v ?? '')).trim();
  if (s.length === 0) throw invalid(`${what} is empty`);
  return s.slice(0, max);
};

const number = (v: unknown, what: string): number => {
  const n = typeof v === 'number' ? v : /^\s*\d{1,15}\s*$/.test(String(v)) ? Number(String(v)) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(`${what} is ${JSON.stringify(v)?.slice(0, 100)}, not a ${what} number`);
  return n;
};

const oneOf = <T extends string>(v: unknown, list: readonly T[], what: string): T => {
  const s = String(v);
  if (!(list as readonly string[]).includes(s))
    throw invalid(`${what} is ${JSON.stringify(s.slice(0, 100))}; use one of ${list.join(', ')}`);
  return s as T;
};

/**
 * Do one operation with its fields rendered (`renderIncidentOp`); its outputs for the steps after it.
 * Throws the incidents capability's errors (an unknown incident, a move its status model refuses).
 */
export async function applyIncidentOp(
  deps: AppDeps,
  actor: Actor,
  viewer: Viewer,
  op: IncidentOp['op'],
  f: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const opt = (k: string, max: number) => (f[k] === undefined || f[k] === '' ? null : text(f[k], k, max));
  switch (op) {
    case 'open': {
      const i = await declareIncident(deps, actor, {
        title: text(f.title, 'title', 200),
        severity: text(f.severity, 'severity', 100),
        priority: oneOf<Priority>(f.priority, PRIORITIES, 'priority'),
        restricted: f.restricted === true,
      });
      return { incident: i.id, title: i.title, severity: i.severity, priority: i.priority, status: i.status };
    }
    case 'note': {
      const id = number(f.incident, 'incident');
      await addNote(deps, actor, viewer, id, text(f.text, 'text', 4000), null);
      return { incident: id };
    }
    case 'status': {
      const id = number(f.incident, 'incident');
      const to = oneOf<IncidentStatus>(f.to, INCIDENT_STATUSES, 'status');
      const i = await setIncidentStatus(deps, actor, viewer, id, to, opt('note', 2000));
      return { incident: id, status: i.status };
    }
    case 'task': {
      const id = number(f.incident, 'incident');
      const due = typeof f.dueInMs === 'number' ? new Date(Date.parse(iso(deps.clock)) + f.dueInMs).toISOString() : null;
      const t = await addTask(deps, actor, viewer, id, { title: text(f.title, 'title', 500), owner: opt('owner', 200), dueAt: due });
      return { incident: id, task: t.id, title: t.title, owner: t.owner, dueAt: t.dueAt };
    }
    case 'acknowledge-case': {
      const c = await acknowledgeCase(deps, actor, number(f.case, 'case'));
      return { case: c.id, state: c.state };
    }
    case 'close-case': {
      const c = await closeCase(deps, actor, number(f.case, 'case'), text(f.resolution, 'resolution', 100), opt('note', 2000));
      return { case: c.id, state: c.state, resolution: c.resolution };
    }
    case 'escalate-case': {
      const title = opt('title', 200);
      const r = await escalateCase(deps, actor, number(f.case, 'case'), {
        severity: text(f.severity, 'severity', 100),
        priority: oneOf<Priority>(f.priority, PRIORITIES, 'priority'),
        ...(title !== null ? { title } : {}),
      });
      return { case: r.case.id, incident: r.incident.id, state: r.case.state };
    }
  }
}
