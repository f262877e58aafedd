/**
 * Time to repair, from the record. The KPI runs from detection (the case the incident came from
 * opened, or the incident was declared) to **repaired**: the cause fixed, which the record holds as
 * the incident's recovery checklists ("rebuild from known-good", "rotate credentials", …) done.
 * Repaired is the instant the last of their tasks was done, once none is open (cancelled tasks do
 * not count, but at least one must be done). An incident without a recovery checklist records no
 * repair and gives no pair; one with tasks still open is an incomplete pair. Pure.
 */
import type { TaskStatus } from './tasks.ts';

export interface RecoveryTaskState {
  status: TaskStatus;
  doneAt: string | null;
}

export type Repair = { state: 'none' } | { state: 'open'; open: number; done: number } | { state: 'repaired'; at: string; done: number };

export function repairOf(tasks: readonly RecoveryTaskState[]): Repair {
  if (tasks.length === 0) return { state: 'none' };
  const open = tasks.filter((t) => t.status === 'open').length;
  const done = tasks.filter((t) => t.status === 'done' && t.doneAt !== null);
  if (open > 0 || done.length === 0) return open > 0 ? { state: 'open', open, done: done.length } : { state: 'none' };
  const at = done.map((t) => t.doneAt!).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
  return { state: 'repaired', at, done: done.length };
}
