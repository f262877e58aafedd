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
import { assignIncidentRole, declareIncident, incidentDetail, setIncidentStatus } from './incidents.ts';
import { draftReport, editReport, listReports, postReport, reportHistory } from './reports.ts';
import { applyIncidentSettings } from './settings.ts';
import { addTask } from './tasks.ts';

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
const alice = cliActor('alice');
const all = { id: 'alice', seesRestricted: true };

beforeEach(async () => {
  dir = await tmpDir('bulwark-reports-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

describe('status reports', () => {
  it('drafts a tactical report from the record, keeps every edit as a version, posts it once, each step on the timeline', async () => {
    const i = await declareIncident(deps, alice, {
      title: 'Credential stuffing',
      severity: 'SEV2',
      priority: 'P1',
      impactStartedAt: '2026-03-01T09:40:00.000Z',
    });
    await assignIncidentRole(deps, alice, all, i.id, 'commander', 'alice');
    await addTask(deps, alice, all, i.id, { title: 'Block the source ranges', owner: 'olga', dueAt: '2026-03-01T11:00:00Z' });
    clock.set('2026-03-01T10:30:00.000Z');
    const d = await draftReport(deps, alice, all, i.id, { kind: 'tactical', nextUpdateIn: '30m' });
    expect(d).toMatchObject({ report: 1, version: 1, state: 'draft', nextUpdateAt: '2026-03-01T11:00:00.000Z' });
    expect(d.body).toBe(`## INC-1 Credential stuffing: tactical update (2026-03-01 10:30 UTC)

- Status: active
- Severity: SEV2 (major: a security control is down or bypassed in production; no known exploitation yet), P1
- Impact: since 2026-03-01 09:40 UTC, 50m so far
- Roles: Incident commander: alice
- Open tasks: 1 (Block the source ranges, olga, due 2026-03-01 11:00 UTC)
- Next update: 2026-03-01 11:00 UTC
`);
    const edited = await editReport(deps, alice, all, i.id, 1, { body: `${d.body}\nCustomers: none affected.\n`, expectVersion: 1 });
    expect(edited).toMatchObject({ version: 2, state: 'draft' });
    await expect(editReport(deps, alice, all, i.id, 1, { body: 'stale', expectVersion: 1 })).rejects.toMatchObject({ code: 'conflict' });
    const posted = await postReport(deps, alice, all, i.id, 1);
    expect(posted).toMatchObject({ version: 3, state: 'posted', body: edited.body });
    await expect(editReport(deps, alice, all, i.id, 1, { body: 'later' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(postReport(deps, alice, all, i.id, 1)).rejects.toMatchObject({ code: 'conflict' });
    expect((await reportHistory(deps, all, i.id, 1)).map((v) => [v.version, v.state])).toEqual([
      [1, 'draft'],
      [2, 'draft'],
      [3, 'posted'],
    ]);
    const kinds = (await incidentDetail(deps, all, i.id)).timeline.filter((e) => e.kind.startsWith('incident.report')).map((e) => e.kind);
    expect(kinds).toEqual(['incident.report.drafted', 'incident.report.edited', 'incident.report.posted']);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('drafts an executive report from the applied template; none planned once resolved; refuses what it cannot do', async () => {
    await applyIncidentSettings(
      deps,
      alice,
      'apiVersion: bulwark/v1\nkind: IncidentSettings\nstatusReports:\n  executive: "{{title}} is {{status}}; led by {{commander}}; next: {{nextUpdate}}"\n',
    );
    const i = await declareIncident(deps, alice, { title: 'Leak', severity: 'SEV1', priority: 'P1' });
    await setIncidentStatus(deps, alice, all, i.id, 'resolved', null);
    const d = await draftReport(deps, alice, all, i.id, { kind: 'executive' });
    expect(d.body).toBe('Leak is resolved; led by not assigned; next: none planned');
    await expect(draftReport(deps, alice, all, i.id, { kind: 'tactical', nextUpdateIn: 'soon' })).rejects.toMatchObject({
      code: 'invalid',
    });
    await expect(reportHistory(deps, all, i.id, 9)).rejects.toMatchObject({ code: 'not_found' });
    // A next update past 30 days is refused, naming the limit, and nothing is drafted.
    const open = await declareIncident(deps, alice, { title: 'Slow leak', severity: 'SEV3', priority: 'P3' });
    await expect(draftReport(deps, alice, all, open.id, { kind: 'tactical', nextUpdateIn: '275000y' })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/nextUpdateIn '275000y' is longer than 30d/),
    });
    expect(await listReports(deps, all, open.id)).toEqual([]);
    expect(await draftReport(deps, alice, all, open.id, { kind: 'tactical', nextUpdateIn: '30d' })).toMatchObject({
      nextUpdateAt: new Date(clock.now().getTime() + 30 * 86_400_000).toISOString(),
    });
    await expect(listReports(deps, { id: 'mallory', seesRestricted: false }, 99)).rejects.toMatchObject({ code: 'not_found' });
    expect((await listReports(deps, all, i.id)).map((r) => r.kind)).toEqual(['executive']);
  });
});
