/**
 * The case and incident model: states and the moves between them, and command roles held as
 * intervals. Pure: every time comes in as an argument; a refused move is a DomainError saying
 * what to do instead.
 */
import { conflict, invalid } from '../errors.ts';

export const CASE_STATES = ['new', 'triage', 'escalated', 'closed'] as const;
export type CaseState = (typeof CASE_STATES)[number];

export const INCIDENT_STATUSES = ['active', 'mitigated', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export const ROLES = ['commander', 'operations', 'communications', 'scribe'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_TITLES: Record<Role, string> = {
  commander: 'Incident commander',
  operations: 'Operations lead',
  communications: 'Communications lead',
  scribe: 'Scribe',
};

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Whether a case in `state` may be acknowledged or assigned (which moves it from new to triage). */
export function triageMove(id: number, state: CaseState, what: 'acknowledge' | 'assign'): CaseState {
  if (state === 'new' || state === 'triage') return 'triage';
  throw conflict(`case ${id} is ${state}; only a new or triaged case can be ${what === 'acknowledge' ? 'acknowledged' : 'assigned'}`);
}

/** Closing needs a resolution from the taxonomy; only an open case closes. */
export function closeMove(id: number, state: CaseState, resolution: string, taxonomy: readonly string[]): CaseState {
  if (state === 'closed' || state === 'escalated') throw conflict(`case ${id} is ${state} already; open cases only can be closed`);
  if (!taxonomy.includes(resolution)) throw invalid(`resolution '${resolution}' is not in the taxonomy; use one of ${taxonomy.join(', ')}`);
  return 'closed';
}

export function escalateMove(id: number, state: CaseState): CaseState {
  if (state === 'closed' || state === 'escalated') throw conflict(`case ${id} is ${state}; only an open case escalates into an incident`);
  return 'escalated';
}

const STATUS_RANK: Record<IncidentStatus, number> = { active: 0, mitigated: 1, resolved: 2, closed: 3 };

/**
 * An incident moves forward only (active → mitigated → resolved → closed; a step may be skipped,
 * e.g. active → resolved), except that a mitigated or resolved incident may become active again
 * when it flares up. A closed incident stays closed.
 */
export function statusMove(id: number, from: IncidentStatus, to: IncidentStatus): IncidentStatus {
  if (from === to) throw conflict(`incident ${id} is ${to} already`);
  if (from === 'closed') throw conflict(`incident ${id} is closed; declare a new incident`);
  if (STATUS_RANK[to] < STATUS_RANK[from] && to !== 'active')
    throw conflict(
      `incident ${id} is ${from}; it can move on (${nextStatuses(from)
        .filter((x) => x !== 'active')
        .join(', ')}) or become active again`,
    );
  return to;
}

export function nextStatuses(from: IncidentStatus): IncidentStatus[] {
  if (from === 'closed') return [];
  return INCIDENT_STATUSES.filter((s) => STATUS_RANK[s] > STATUS_RANK[from] || (s === 'active' && from !== 'active'));
}

/** One holder of one role over [from, to); `to` null while held. */
export interface RoleInterval {
  role: Role;
  holder: string;
  from: string;
  to: string | null;
}

/**
 * A role assignment: the interval it opens, and the one it closes (a handoff) at the same
 * instant. Refused when it would overlap another interval of the role: `at` before the start of
 * the current holder's interval, or inside a closed one.
 */
export function assignRole(
  intervals: readonly RoleInterval[],
  role: Role,
  holder: string,
  at: string,
): { open: RoleInterval; close?: RoleInterval & { to: string } } {
  const mine = intervals.filter((i) => i.role === role);
  const atMs = Date.parse(at);
  for (const i of mine) {
    if (i.to !== null && Date.parse(i.from) <= atMs && atMs < Date.parse(i.to))
      throw conflict(`${ROLE_TITLES[role]} was held by ${i.holder} from ${i.from} to ${i.to}; a new interval cannot start inside it`);
  }
  const current = mine.find((i) => i.to === null);
  const open: RoleInterval = { role, holder, from: at, to: null };
  if (!current) return { open };
  if (current.holder === holder) throw conflict(`${holder} holds ${ROLE_TITLES[role]} already (since ${current.from})`);
  if (Date.parse(current.from) > atMs)
    throw conflict(`${ROLE_TITLES[role]} is held by ${current.holder} from ${current.from}; a handoff cannot start before that`);
  return { open, close: { ...current, to: at } };
}

/** Whether intervals of one role overlap anywhere (a check for stores and tests). */
export function overlapping(intervals: readonly RoleInterval[]): boolean {
  for (const role of ROLES) {
    const mine = intervals.filter((i) => i.role === role).sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
    for (let k = 1; k < mine.length; k++) {
      const prev = mine[k - 1]!;
      if (prev.to === null || Date.parse(prev.to) > Date.parse(mine[k]!.from)) return true;
    }
  }
  return false;
}
