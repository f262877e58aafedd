import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../../test/support/app.ts';
import { coverageMap } from '../app/coverage/coverage.ts';
import { parseExperiment } from '../core/experiments/experiment-file.ts';
import { applyDemoCoverage, DEMO_COVERAGE } from './coverage.ts';
import { loadDemoExperiments } from './experiments.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('the demo’s coverage scope', () => {
  it('holds every technique the demo experiments exercise', async () => {
    const used = (await loadDemoExperiments()).flatMap((f) => {
      const p = parseExperiment(f.text);
      return p.ok ? p.experiment.techniques : [];
    });
    expect(used.length).toBeGreaterThan(0);
    for (const id of used) expect(DEMO_COVERAGE.profiles!['demo-shop']).toContain(id);
  });

  it('is stored once, with its ledger entry, and never over settings stored since', async () => {
    const first = await applyDemoCoverage(t.deps);
    expect(first?.version).toBe(1);
    const map = await coverageMap(t.deps);
    expect(map.cells.find((c) => c.technique === 'T1190')).toMatchObject({ inScope: true, staleAfterDays: 1 });
    expect(map.cells.find((c) => c.technique === 'T1486')?.inScope).toBe(false);
    expect(await applyDemoCoverage(t.deps)).toBeUndefined();
    const entries = await t.deps.store.ledger.page({ limit: 10, order: 'desc', kind: 'coverage.settings-set' });
    expect(entries).toHaveLength(1);
  });
});
