/**
 * Restricted incidents in the budget policy's postmortem clause: left out of the status (its
 * counts and sentence) and of the KRI postmortems-missing (its value, its items and so the signal
 * announcing its colour) unless the caller may see restricted incidents; then counted, not named.
 * A real SQLite store.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor, systemActor } from '../../core/ledger/actor.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { AppDeps } from '../deps.ts';
import { declareIncident } from '../incidents/incidents.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applySlo, getSlo } from './apply-slo.ts';
import { evaluateKris } from './kris.ts';
import { sloStatus } from './slo-status.ts';

const NOW = Date.parse('2026-09-01T12:00:00.000Z');
let dir: TmpDir;
let deps: AppDeps;
let open = 0;
let secret = 0;

function run(i: number, outcome: string): RunRecord {
  const end = new Date(NOW - (i + 1) * 60_000).toISOString();
  return {
    id: `pmr${String(i).padStart(13, '0')}`,
    experiment: 'sqli-products',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques: ['T1110'], detections: [{ name: 'waf' }] } },
    ttdMs: null,
    dryRun: false,
  };
}

beforeAll(async () => {
  dir = await tmpDir('bulwark-slo-restricted-');
  deps = { store: await openSqliteStore(path.join(dir.path, 'b.db')), clock: new ManualClock(NOW), keys: memoryKeyRing(), origin: 'test' };
  for (let i = 0; i < 4; i++) await deps.store.runs.insert(run(i, 'missed'));
  await applySlo(
    deps,
    systemActor('test'),
    `apiVersion: bulwark/v1
kind: SLO
name: waf-blocks
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1110
alerting:
  minEvents: 3
policy:
  freezeBelow: 10
  postmortemBelow: 0
`,
  );
  open = (await declareIncident(deps, cliActor('alice'), { title: 'WAF bypass', severity: 'SEV2', priority: 'P2' })).id;
  secret = (await declareIncident(deps, cliActor('alice'), { title: 'insider', severity: 'SEV1', priority: 'P1', restricted: true })).id;
});
afterAll(async () => {
  await deps.store.close();
  await dir.cleanup();
});

describe('restricted incidents in the postmortem clause', () => {
  it('are left out of the status and of the KRI for a caller who may not see them', async () => {
    const s = await sloStatus(deps, await getSlo(deps, 'waf-blocks'));
    const pm = s.policy!.postmortem!;
    expect(pm).toMatchObject({ evaluated: true, required: true, missing: [open], restricted: { incidents: 0, missing: [] } });
    expect(pm.evaluated && pm.why).toMatch(/each of the 1 incident of the period requires a postmortem; 1 has none/);
    const kri = (await evaluateKris(deps, [s])).find((k) => k.kri === 'postmortems-missing')!;
    expect(kri).toMatchObject({ value: 1, items: [`incident ${open}`] });
    expect(JSON.stringify(kri)).not.toMatch(/restricted/);
  });

  it('are counted, never named, for a caller who may see restricted incidents', async () => {
    const s = await sloStatus(deps, await getSlo(deps, 'waf-blocks'), { seesRestricted: true });
    const pm = s.policy!.postmortem!;
    expect(pm).toMatchObject({ evaluated: true, missing: [open], restricted: { incidents: 1, missing: [secret] } });
    expect(pm.evaluated && pm.incidents.map((i) => i.id)).toEqual([open]);
  });
});
