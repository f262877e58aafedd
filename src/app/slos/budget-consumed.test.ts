/**
 * services.slos.budgetConsumed: what an interval spent of an SLO's budget, read from the runs a
 * real SQLite store holds, through the server's services as another capability calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { applySlo } from './apply-slo.ts';
import { sloStatus } from './slo-status.ts';

const H = 3_600_000;
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
let t: TestApp;

function run(i: number, outcome: 'missed' | 'detected'): RunRecord {
  const end = new Date(NOW - (i + 1) * H).toISOString();
  return {
    id: `bc${String(i).padStart(14, '0')}`,
    experiment: 'sqli-products',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques: ['T1190'], detections: [{ name: 'waf' }] } },
    ttdMs: null,
    dryRun: false,
  };
}

beforeAll(async () => {
  t = await makeTestApp({ clock: new ManualClock(NOW) });
  // 40 runs an hour apart; the 4 missed ones ended 2–5 hours ago.
  for (let i = 0; i < 40; i++) await t.deps.store.runs.insert(run(i, i >= 1 && i <= 4 ? 'missed' : 'detected'));
  const file = `apiVersion: bulwark/v1
kind: SLO
name: waf-detects
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1190
`;
  await applySlo(t.deps, systemActor('test'), file);
});
afterAll(async () => t.close());

describe('services.slos.budgetConsumed', () => {
  it('gives the share of the budget an interval spent, against the period that holds its end', async () => {
    // 4 bad of 40 runs in the period: the budget is 0.1 × 40 = 4 bad runs; the interval holds all 4.
    const r = await t.slos.budgetConsumed('waf-detects', new Date(NOW - 6 * H), new Date(NOW));
    expect(r).toMatchObject({ state: 'evaluated', slo: 'waf-detects', bad: 4, events: 5 });
    expect(r?.state === 'evaluated' && r.consumed).toBeCloseTo(1, 12);
    // Half of them, from ISO strings.
    const half = await t.slos.budgetConsumed('waf-detects', new Date(NOW - 3.5 * H).toISOString(), new Date(NOW).toISOString());
    expect(half?.state === 'evaluated' && half.consumed).toBeCloseTo(0.5, 12);
  });

  it('over the whole period, equals what the status says is consumed', async () => {
    const status = await sloStatus(t.deps, (await t.deps.store.slos.get('waf-detects'))!);
    const r = await t.slos.budgetConsumed('waf-detects', Date.parse(status.budget!.period.start) - 1, NOW);
    expect(r?.state === 'evaluated' && r.consumed).toBeCloseTo(status.budget!.consumed, 12);
  });

  it('answers undefined for an SLO that does not exist, and refuses times that are not instants', async () => {
    expect(await t.slos.budgetConsumed('nope', NOW - H, NOW)).toBeUndefined();
    await expect(t.slos.budgetConsumed('waf-detects', 'yesterday', NOW)).rejects.toThrow(/instants/);
    await expect(t.slos.budgetConsumed('waf-detects', NOW, NOW - H)).rejects.toThrow(/from is after to/);
  });
});
