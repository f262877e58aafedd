import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor, systemActor } from '../../core/ledger/actor.ts';
import { makeSignal } from '../../core/signals/signal.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { commitSignals, evidenceOf } from '../signals/ingest.ts';
import { kpiReport } from '../slos/kpis.ts';
import { acknowledgeCase, assignCase, escalateCase } from './cases.ts';
import { declareIncident, setIncidentStatus } from './incidents.ts';
import { addChecklist, changeTask } from './tasks.ts';
import { triageOnce } from './triage.ts';

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
const alice = cliActor('alice');
const all = { id: 'alice', seesRestricted: true };
const MIN = 60_000;

beforeEach(async () => {
  dir = await tmpDir('bulwark-incident-kpis-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function criticalAlert(key: string) {
  const now = clock.now().toISOString();
  const labels = { alertname: 'WafDown', service: key };
  const signal = makeSignal({
    source: 'alertmanager',
    time: now,
    receivedAt: now,
    severity: 'critical',
    labels,
    body: { key, labels },
    dedup: { kind: 'webhook-id', id: key },
    resolved: false,
  });
  await commitSignals(deps, [
    { actor: systemActor('test'), items: [{ signal, raw: evidenceOf(Buffer.from(JSON.stringify({ key, labels })), 'application/json') }] },
  ]);
}

const kpi = async (name: string) => (await kpiReport(deps, { windowMs: 86_400_000 })).kpis.find((k) => k.kpi === name)!;

describe('the incident KPIs', () => {
  it('come from the times cases and incidents record, with incomplete pairs left out and counted', async () => {
    expect(await kpi('time-to-acknowledge')).toMatchObject({ status: 'no-data', count: 0, sources: ['cases and incidents'] });

    // A case opened by triage, acknowledged after 4 minutes, assigned after 10, escalated.
    await criticalAlert('shop');
    const caseId = (await triageOnce(deps)).opened[0]!;
    clock.advance(4 * MIN);
    await acknowledgeCase(deps, alice, caseId);
    clock.advance(6 * MIN);
    await assignCase(deps, alice, caseId, 'bob');
    const impact = new Date(clock.now().getTime() - 40 * MIN).toISOString();
    const { incident } = await escalateCase(deps, alice, caseId, { severity: 'SEV2', priority: 'P2', impactStartedAt: impact });
    // Mitigated 30 minutes after it was declared, resolved 60 minutes after.
    clock.advance(30 * MIN);
    await setIncidentStatus(deps, alice, all, incident.id, 'mitigated', null);
    // Its recovery checklist: every task done (one cancelled) 10 minutes after: repaired then.
    const tasks = await addChecklist(deps, alice, all, incident.id, 'rotate-credentials');
    clock.advance(10 * MIN);
    for (const [k, task] of tasks.entries())
      await changeTask(deps, alice, all, incident.id, task.id, { status: k === 0 ? 'cancelled' : 'done' });
    clock.advance(20 * MIN);
    await setIncidentStatus(deps, alice, all, incident.id, 'resolved', null);
    // A second incident, declared and never mitigated: an incomplete pair, not a zero; its
    // recovery checklist still open: an incomplete repair.
    const open = await declareIncident(deps, alice, { title: 'open', severity: 'SEV3', priority: 'P3' });
    await addChecklist(deps, alice, all, open.id, 'rotate-credentials');
    // A third without a recovery checklist records no repair at all.
    await declareIncident(deps, alice, { title: 'no checklist', severity: 'SEV4', priority: 'P4' });

    expect(await kpi('time-to-acknowledge')).toMatchObject({ status: 'ok', count: 1, meanMs: 4 * MIN });
    expect(await kpi('time-to-triage')).toMatchObject({ status: 'ok', count: 1, meanMs: 10 * MIN });
    expect(await kpi('time-to-mitigate')).toMatchObject({ status: 'ok', count: 1, incomplete: 2, meanMs: 30 * MIN });
    expect(await kpi('time-to-resolve')).toMatchObject({ status: 'ok', count: 1, incomplete: 2, meanMs: 60 * MIN });
    // Impact started 40 minutes before the escalation, 30 before the case opened: detected then.
    expect(await kpi('time-to-detect')).toMatchObject({ status: 'ok', count: 1, meanMs: 30 * MIN });
    // Detected when the case opened; repaired 50 minutes later (the last recovery task done).
    expect(await kpi('time-to-repair')).toMatchObject({ status: 'ok', count: 1, incomplete: 1, meanMs: 50 * MIN });

    const bySeverity = await kpiReport(deps, { windowMs: 86_400_000, by: 'severity' });
    expect(bySeverity.kpis.filter((k) => k.kpi === 'time-to-mitigate').map((k) => [k.group, k.count, k.incomplete])).toEqual(
      expect.arrayContaining([
        ['SEV2', 1, 0],
        ['SEV3', 0, 1],
      ]),
    );
  });
});
