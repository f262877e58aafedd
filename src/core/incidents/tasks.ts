/**
 * Tasks of an incident and recovery checklists. A task has a title, an owner, a due time and a
 * status (open → done or cancelled; a done or cancelled task may be reopened). A checklist is a
 * template from the settings file (`checklists:`) instantiated as tasks: each item's owner is a
 * command role, resolved to whoever holds it at that instant, and its due time an offset from it.
 * Pure: every time comes in as an argument.
 */
import { conflict } from '../errors.ts';
import { ROLES, type Role, type RoleInterval } from './model.ts';

export const TASK_STATUSES = ['open', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface ChecklistItem {
  title: string;
  /** A command role: the task's owner is its holder when the checklist is added (none when nobody holds it). */
  owner: Role | null;
  /** Due this long after the checklist is added (ms), or no due time. */
  dueMs: number | null;
  due: string | null;
}

export interface ChecklistTemplate {
  name: string;
  title: string;
  items: ChecklistItem[];
}

/** What a new task from a checklist holds. */
export interface NewTask {
  title: string;
  owner: string | null;
  dueAt: string | null;
}

/** The tasks of a checklist added at `now`, with owners from the roles held at that instant. */
export function checklistTasks(t: ChecklistTemplate, roles: readonly RoleInterval[], now: string): NewTask[] {
  const at = Date.parse(now);
  const holder = (role: Role | null) =>
    role === null
      ? null
      : (roles.find((r) => r.role === role && Date.parse(r.from) <= at && (r.to === null || at < Date.parse(r.to)))?.holder ?? null);
  return t.items.map((i) => ({
    title: i.title,
    owner: holder(i.owner),
    dueAt: i.dueMs === null ? null : new Date(at + i.dueMs).toISOString(),
  }));
}

/** Whether a task may move from `from` to `to`: any move but to the status it has. */
export function taskMove(incident: number, task: number, from: TaskStatus, to: TaskStatus): TaskStatus {
  if (from === to) throw conflict(`task ${task} of incident ${incident} is ${to} already`);
  return to;
}

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

const H = 3_600_000;
const item = (title: string, owner: Role, hours: number): ChecklistItem => ({ title, owner, dueMs: hours * H, due: `${hours}h` });

/** The recovery checklists shipped with Bulwark; a settings file with `checklists:` replaces them. */
export const DEFAULT_CHECKLISTS: ChecklistTemplate[] = [
  {
    name: 'rebuild-from-known-good',
    title: 'Rebuild from known-good',
    items: [
      item('Name the last known-good build or image, from before the impact started', 'operations', 2),
      item('Rebuild the affected hosts from it instead of cleaning them in place', 'operations', 8),
      item('Restore data from backups taken before the impact started, and check their integrity', 'operations', 8),
      item("Compare the rebuilt hosts' packages and configuration with the known-good baseline", 'operations', 12),
    ],
  },
  {
    name: 'rotate-credentials',
    title: 'Rotate credentials',
    items: [
      item('List every credential the affected systems held or could read: keys, tokens, passwords, certificates', 'operations', 1),
      item('Rotate them from a clean machine, the most privileged first', 'operations', 4),
      item('Revoke the old credentials and sessions, and check that they are refused', 'operations', 4),
      item('Alert on any use of the old credentials', 'operations', 8),
    ],
  },
  {
    name: 'verify-recovery-tools',
    title: 'Verify recovery tools are clean',
    items: [
      item('Check the recovery tools and scripts against known digests, or reinstall them from a trusted source', 'operations', 1),
      item("Move the response team's conversation to a channel the attacker cannot read (out of band)", 'communications', 1),
      item('Confirm that the backup system and its credentials were not reachable from the affected systems', 'operations', 4),
    ],
  },
];
