import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { verifyStore } from '../ledger/verify.ts';
import { assignIncidentRole, declareIncident, incidentDetail } from './incidents.ts';
import { applyIncidentSettings } from './settings.ts';
import { addChecklist, addTask, changeTask, listTasks } from './tasks.ts';

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
const alice = cliActor('alice');
const all = { id: 'alice', seesRestricted: true };
const stranger = { id: 'mallory', seesRestricted: false };

beforeEach(async () => {
  dir = await tmpDir('bulwark-tasks-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function taskEntries(incident: number) {
  return (await incidentDetail(deps, all, incident)).timeline.filter(
    (e) => e.kind.startsWith('incident.task') || e.kind.startsWith('incident.checklist'),
  );
}

describe('tasks and recovery checklists', () => {
  it('adds, completes and reopens a task, each change one ledger entry on the timeline naming only what changed', async () => {
    const i = await declareIncident(deps, alice, { title: 'Token leak', severity: 'SEV2', priority: 'P1' });
    const t = await addTask(deps, alice, all, i.id, { title: 'Revoke the leaked token', owner: 'bob', dueAt: '2026-03-01T12:00:00+00:00' });
    expect(t).toMatchObject({ id: 1, status: 'open', owner: 'bob', dueAt: '2026-03-01T12:00:00.000Z', checklist: null });
    clock.advance(60_000);
    const done = await changeTask(deps, alice, all, i.id, 1, { status: 'done', owner: 'bob' });
    expect(done).toMatchObject({ status: 'done', doneAt: '2026-03-01T10:01:00.000Z', updatedAt: '2026-03-01T10:01:00.000Z' });
    await expect(changeTask(deps, alice, all, i.id, 1, { status: 'done' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(changeTask(deps, alice, all, i.id, 1, {})).rejects.toMatchObject({ code: 'conflict' });
    const reopened = await changeTask(deps, alice, all, i.id, 1, { status: 'open', dueAt: null });
    expect(reopened).toMatchObject({ status: 'open', doneAt: null, dueAt: null });
    expect((await taskEntries(i.id)).map((e) => [e.kind, e.data])).toEqual([
      [
        'incident.task.added',
        { incident: i.id, task: 1, title: 'Revoke the leaked token', owner: 'bob', dueAt: '2026-03-01T12:00:00.000Z', checklist: null },
      ],
      ['incident.task.changed', { incident: i.id, task: 1, from: 'open', changes: { status: 'done' } }],
      ['incident.task.changed', { incident: i.id, task: 1, from: 'done', changes: { dueAt: null, status: 'open' } }],
    ]);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('instantiates a checklist: owners from the roles held at that instant, due times from the template', async () => {
    const i = await declareIncident(deps, alice, { title: 'Host compromise', severity: 'SEV1', priority: 'P1' });
    await assignIncidentRole(deps, alice, all, i.id, 'operations', 'olga');
    const tasks = await addChecklist(deps, alice, all, i.id, 'verify-recovery-tools');
    expect(tasks.map((t) => [t.id, t.owner, t.dueAt, t.checklist])).toEqual([
      [1, 'olga', '2026-03-01T11:00:00.000Z', 'verify-recovery-tools'],
      [2, null, '2026-03-01T11:00:00.000Z', 'verify-recovery-tools'], // nobody holds communications
      [3, 'olga', '2026-03-01T14:00:00.000Z', 'verify-recovery-tools'],
    ]);
    const entries = await taskEntries(i.id);
    expect(entries.map((e) => e.kind)).toEqual([...Array(3).fill('incident.task.added'), 'incident.checklist.added']);
    expect(new Set(entries.map((e) => e.time)).size).toBe(1);
    expect(entries[3]!.data).toEqual({ incident: i.id, checklist: 'verify-recovery-tools', tasks: [1, 2, 3] });
    expect((await listTasks(deps, all, i.id, { status: 'open' })).length).toBe(3);
  });

  it('takes checklists from the applied settings, and refuses an unknown template, a bad time and a task that does not exist', async () => {
    await applyIncidentSettings(
      deps,
      alice,
      `apiVersion: bulwark/v1
kind: IncidentSettings
checklists:
  - name: isolate
    items: ["Pull the host off the network", { title: Snapshot its disk, owner: scribe, due: 30m }]
`,
    );
    const i = await declareIncident(deps, alice, { title: 'x', severity: 'SEV3', priority: 'P3' });
    expect((await addChecklist(deps, alice, all, i.id, 'isolate')).map((t) => t.title)).toEqual([
      'Pull the host off the network',
      'Snapshot its disk',
    ]);
    await expect(addChecklist(deps, alice, all, i.id, 'rotate-credentials')).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringContaining('the settings have isolate'),
    });
    await expect(addTask(deps, alice, all, i.id, { title: 'x', dueAt: 'tomorrow' })).rejects.toMatchObject({ code: 'invalid' });
    await expect(changeTask(deps, alice, all, i.id, 99, { status: 'done' })).rejects.toMatchObject({ code: 'not_found' });
    expect((await listTasks(deps, all, i.id)).length).toBe(2);
  });

  it('hides the tasks of a restricted incident from a non-participant as if it did not exist', async () => {
    const i = await declareIncident(deps, alice, { title: 'secret', severity: 'SEV1', priority: 'P1', restricted: true });
    await addTask(deps, alice, all, i.id, { title: 'a' });
    await expect(listTasks(deps, stranger, i.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(addTask(deps, cliActor('mallory'), stranger, i.id, { title: 'b' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(changeTask(deps, cliActor('mallory'), stranger, i.id, 1, { status: 'done' })).rejects.toMatchObject({ code: 'not_found' });
    expect((await listTasks(deps, all, i.id)).map((t) => t.status)).toEqual(['open']);
  });
});
