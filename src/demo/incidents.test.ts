import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../test/support/tmp.ts';
import { memoryKeyRing } from '../app/ledger/key-ring.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';
import type { Store } from '../store/store.ts';
import { incidentDetail } from '../app/incidents/incidents.ts';
import { listReports } from '../app/incidents/reports.ts';
import { listTasks } from '../app/incidents/tasks.ts';
import { incidentLinks } from '../app/incidents/links.ts';
import { applySlo } from '../app/slos/apply-slo.ts';
import { systemActor } from '../core/ledger/actor.ts';
import { applyDemoIncident, DEMO_INCIDENT_TITLE } from './incidents.ts';
import { DEMO_SLO_FILES } from './slos.ts';

let dir: TmpDir;
let store: Store;
beforeEach(async () => {
  dir = await tmpDir('bulwark-demo-incident-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

describe('the demo incident', () => {
  it('is declared once with roles, evidence, a timeline, a checklist and a posted report; a restart declares nothing more', async () => {
    const deps = { store, clock: new ManualClock(), keys: memoryKeyRing(), origin: 'test' };
    for (const file of DEMO_SLO_FILES) await applySlo(deps, systemActor('demo'), file);
    const id = await applyDemoIncident(deps);
    expect(id).toBe(1);
    const links = await incidentLinks(deps, { id: 'x', seesRestricted: true }, id!);
    expect(links.slos.map((l) => l.slo)).toEqual(['demo-brute-force-detected']);
    expect(links.techniques).toEqual(['T1110']);
    const d = await incidentDetail(deps, { id: 'x', seesRestricted: true }, id!);
    expect(d.incident.status).toBe('mitigated');
    expect(d.roles.map((r) => r.role)).toEqual(['commander', 'scribe']);
    expect(d.evidence).toHaveLength(1);
    expect(d.timeline.length).toBeGreaterThan(8);
    // The credentials checklist, its tasks owned by the role holders, and a posted report.
    const tasks = await listTasks(deps, { id: 'x', seesRestricted: true }, id!);
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.every((t) => t.status === 'open')).toBe(true);
    const reports = await listReports(deps, { id: 'x', seesRestricted: true }, id!);
    expect(reports.map((r) => [r.kind, r.state])).toEqual([['tactical', 'posted']]);
    expect(reports[0]!.body).toContain(DEMO_INCIDENT_TITLE);
    expect(await applyDemoIncident(deps)).toBeUndefined();
  });
});
