import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../test/support/tmp.ts';
import { memoryKeyRing } from '../app/ledger/key-ring.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';
import type { Store } from '../store/store.ts';
import { incidentDetail } from '../app/incidents/incidents.ts';
import { applyDemoIncident } from './incidents.ts';

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
  it('is declared once with roles, evidence and a timeline; a restart declares nothing more', async () => {
    const deps = { store, clock: new ManualClock(), keys: memoryKeyRing(), origin: 'test' };
    const id = await applyDemoIncident(deps);
    expect(id).toBe(1);
    const d = await incidentDetail(deps, { id: 'x', seesRestricted: true }, id!);
    expect(d.incident.status).toBe('mitigated');
    expect(d.roles.map((r) => r.role)).toEqual(['commander', 'scribe']);
    expect(d.evidence).toHaveLength(1);
    expect(d.timeline.length).toBeGreaterThan(8);
    expect(await applyDemoIncident(deps)).toBeUndefined();
  });
});
