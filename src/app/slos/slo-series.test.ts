/**
 * The series of an SLO page reads a bounded number of runs or signals: past the cap it answers a
 * note, no points, rather than drawing from part of the events or holding the server.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { applySlo, getSlo } from './apply-slo.ts';
import { sloSeries } from './slo-series.ts';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const clock = new ManualClock(NOW);
let dir: TmpDir;
let deps: AppDeps;

function run(i: number): RunRecord {
  const end = new Date(NOW - (i + 1) * 3_600_000).toISOString();
  return {
    id: `cap${String(i).padStart(13, '0')}`,
    experiment: 'sqli-products',
    state: 'done',
    outcome: i % 4 === 0 ? 'missed' : 'detected',
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
  dir = await tmpDir('bulwark-slo-series-');
  deps = { store: await openSqliteStore(path.join(dir.path, 'b.db')), clock, keys: memoryKeyRing(), origin: 'test' };
  for (let i = 0; i < 12; i++) await deps.store.runs.insert(run(i));
  await applySlo(
    deps,
    systemActor('test'),
    `apiVersion: bulwark/v1
kind: SLO
name: capped
service: shop
objective: 90
window: 7d
sli:
  experiments:
    technique: T1190
`,
  );
});
afterAll(async () => {
  await deps.store.close();
  await dir.cleanup();
});

describe('the series of an SLO', () => {
  it('is drawn when the span holds fewer runs than the cap', async () => {
    const s = await sloSeries(deps, await getSlo(deps, 'capped'), 5, 50);
    expect(s.note).toBeNull();
    expect(s.points).toHaveLength(5);
    expect(s.points.at(-1)!.remaining).not.toBeNull();
  });

  it('is refused with a note saying what to narrow when the span holds more', async () => {
    const s = await sloSeries(deps, await getSlo(deps, 'capped'), 5, 5);
    expect(s.points).toEqual([]);
    expect(s.note).toMatch(/too many events to chart: more than 5 runs.*narrow the SLI/);
  });
});
