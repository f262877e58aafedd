import { describe, expect, it } from 'vitest';
import { parseSloFile } from '../core/slos/slo-file.ts';
import { loadDemoExperiments } from './experiments.ts';
import { DEMO_SLO_FILES } from './slos.ts';

describe('the demo SLOs', () => {
  it('parse, and each counts runs of a demo experiment', async () => {
    const names = (await loadDemoExperiments()).map((e) => e.name);
    for (const file of DEMO_SLO_FILES) {
      const r = parseSloFile(file);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      const sli = r.slos[0]!.sli;
      if (!('select' in sli)) continue;
      expect(names).toContain(sli.select.experiment);
    }
  });
});
