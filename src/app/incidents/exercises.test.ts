import fc from 'fast-check';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { parseScenario } from '../../core/incidents/scenario.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { verifyStore } from '../ledger/verify.ts';
import { kpiReport } from '../slos/kpis.ts';
import { advanceExercise, answerQuestion, endExercise, startExercise } from './exercises.ts';
import { assignIncidentRole, declareIncident, incidentDetail, setIncidentStatus } from './incidents.ts';
import { applyIncidentSettings } from './settings.ts';

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
const alice = cliActor('alice');
const all = { id: 'alice', seesRestricted: true };
const MIN = 60_000;

const SCENARIO = `apiVersion: bulwark/v1
kind: TabletopScenario
title: Ransomware on the file server
severity: SEV2
injects:
  - { at: 0m, text: "The helpdesk reports files renamed *.locked on fs1" }
  - { at: 15m, text: "A ransom note names a deadline of 48 hours" }
questions:
  - { id: q1, at: 5m, text: Who leads the response?, expect: An incident commander is assigned within 5 minutes }
  - { id: q2, at: 15m, text: Do we restore or rebuild?, expect: Rebuild from known-good; restore data only }
`;

beforeEach(async () => {
  dir = await tmpDir('bulwark-exercise-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const kpi = async (name: string) => (await kpiReport(deps, { windowMs: 86_400_000 })).kpis.find((k) => k.kpi === name)!;

describe('tabletop exercises', () => {
  it('run from a scenario: injects at their offsets, answers, response times, and a report at the end', async () => {
    const { incident, injects } = await startExercise(deps, alice, SCENARIO);
    expect(incident.title).toBe('[Exercise] Ransomware on the file server');
    expect(injects).toBe(1);
    clock.advance(4 * MIN);
    await assignIncidentRole(deps, alice, all, incident.id, 'commander', 'alice');
    await answerQuestion(deps, alice, all, incident.id, 'q1', 'Alice, as incident commander');
    expect(await advanceExercise(deps, incident.id)).toBe(0);
    clock.advance(11 * MIN);
    expect(await advanceExercise(deps, incident.id)).toBe(1);
    expect(await advanceExercise(deps, incident.id)).toBe(0);
    clock.advance(5 * MIN);
    await answerQuestion(deps, alice, all, incident.id, 'q2', 'Rebuild fs1 from the golden image');
    await setIncidentStatus(deps, alice, all, incident.id, 'mitigated', null);
    await expect(answerQuestion(deps, alice, all, incident.id, 'q9', 'x')).rejects.toMatchObject({ code: 'invalid' });
    clock.advance(10 * MIN);
    const { markdown } = await endExercise(deps, alice, all, incident.id);
    expect(markdown).toContain('# Tabletop exercise: INC-1 Ransomware on the file server');
    expect(markdown).toContain('ended 2026-03-01 10:30:00Z (30m)');
    expect(markdown).toContain('- Incident commander assigned: 4m after the start');
    expect(markdown).toContain('- Mitigated: 20m after the start');
    expect(markdown).toContain('2. at +15m (given 2026-03-01 10:15:00Z): A ransom note names a deadline of 48 hours');
    expect(markdown).toContain('- Answer, 5m after it was asked: Rebuild fs1 from the golden image');
    expect(markdown).toContain('- Expected: Rebuild from known-good; restore data only');
    await expect(endExercise(deps, alice, all, incident.id)).rejects.toMatchObject({ code: 'conflict' });
    expect(await store.incidents.exerciseIds()).toEqual([incident.id]);
    expect(await store.incidents.exerciseIds({ running: true })).toEqual([]);
    const kinds = (await incidentDetail(deps, all, incident.id)).timeline.map((e) => e.kind);
    expect(kinds.filter((k) => k.startsWith('incident.exercise'))).toEqual([
      'incident.exercise.started',
      'incident.exercise.inject',
      'incident.exercise.answered',
      'incident.exercise.inject',
      'incident.exercise.answered',
      'incident.exercise.ended',
    ]);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it("keep an exercise's times out of the production KPIs, and tell no webhook", async () => {
    await applyIncidentSettings(
      deps,
      alice,
      'apiVersion: bulwark/v1\nkind: IncidentSettings\nnotifications:\n  webhooks: [{ name: soc, url: "http://127.0.0.1:9/x", secretEnv: K }]\n',
    );
    const real = await declareIncident(deps, alice, { title: 'Real', severity: 'SEV2', priority: 'P1' });
    clock.advance(30 * MIN);
    await setIncidentStatus(deps, alice, all, real.id, 'mitigated', null);
    const before = await kpi('time-to-mitigate');
    expect(before).toMatchObject({ count: 1, meanMs: 30 * MIN });
    const queued = (await store.incidents.notifications({ limit: 50 })).length;
    const { incident } = await startExercise(deps, alice, SCENARIO);
    clock.advance(2 * MIN);
    await setIncidentStatus(deps, alice, all, incident.id, 'resolved', null);
    expect(await kpi('time-to-mitigate')).toEqual(before);
    expect(await kpi('time-to-resolve')).toMatchObject({ count: 0, incomplete: 1 });
    expect((await store.incidents.notifications({ limit: 50 })).length).toBe(queued);
  });

  it('refuse a bad scenario with line and column, and never throw on any input (fuzz)', () => {
    const r = parseScenario(
      'apiVersion: bulwark/v1\nkind: TabletopScenario\ntitle: x\nseverity: SEV2\ninjects:\n  - { at: soon, text: hi }\n',
    );
    expect(!r.ok && r.errors[0]).toMatchObject({ line: 6, message: expect.stringMatching(/^injects\.0\.at: an offset/) });
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const p = parseScenario(s);
        if (!p.ok) expect(p.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });
});
