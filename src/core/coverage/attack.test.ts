import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TECHNIQUES } from '../experiments/techniques/catalogue.ts';
import { loadDemoExperiments } from '../../demo/experiments.ts';
import { parseExperiment } from '../experiments/experiment-file.ts';
import { ATTACK, techniqueIndex } from './attack.ts';
import { attackTableFrom, MITRE_ATTRIBUTION } from './attack-source.ts';

const shared = new URL('../../../../shared/attack/enterprise-attack-v18.1.json', import.meta.url);

describe('the shipped ATT&CK table', () => {
  it('records its release and MITRE’s attribution, and keeps the tactics in matrix order', () => {
    expect(ATTACK.version).toBe('18.1');
    expect(ATTACK.attribution).toBe(MITRE_ATTRIBUTION);
    expect(ATTACK.tactics.map((t) => t.shortname)).toEqual([
      'reconnaissance',
      'resource-development',
      'initial-access',
      'execution',
      'persistence',
      'privilege-escalation',
      'defense-evasion',
      'credential-access',
      'discovery',
      'lateral-movement',
      'collection',
      'command-and-control',
      'exfiltration',
      'impact',
    ]);
  });

  it('knows every technique the attack library and the demo experiments name', async () => {
    const index = techniqueIndex(ATTACK);
    const library = TECHNIQUES.flatMap((t) => t.attack);
    const demo = (await loadDemoExperiments()).flatMap((f) => {
      const p = parseExperiment(f.text);
      if (!p.ok) throw new Error(`${f.name} does not parse`);
      return p.experiment.techniques;
    });
    expect(library.length).toBeGreaterThan(5);
    expect(demo).toContain('T1190');
    expect([...library, ...demo].filter((id) => !index.has(id))).toEqual([]);
  });

  it('is what the script makes of the STIX-derived table, without deprecated or revoked techniques', () => {
    let source: { techniques: { id: string; deprecated: boolean; revoked: boolean }[] };
    try {
      source = JSON.parse(readFileSync(shared, 'utf8'));
    } catch {
      return; // the source table is not beside this checkout
    }
    const made = attackTableFrom(source);
    expect(made).toEqual(ATTACK);
    const dropped = source.techniques.filter((t) => t.deprecated || t.revoked).map((t) => t.id);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.filter((id) => techniqueIndex(ATTACK).has(id))).toEqual([]);
  });

  it('reads a STIX bundle: matrix order, mitre-attack ids and phases, revoked patterns left out', () => {
    const ref = (id: string) => [{ source_name: 'mitre-attack', external_id: id }];
    const t = attackTableFrom(
      {
        type: 'bundle',
        objects: [
          { type: 'x-mitre-matrix', tactic_refs: ['x-mitre-tactic--2', 'x-mitre-tactic--1'] },
          {
            type: 'x-mitre-tactic',
            id: 'x-mitre-tactic--1',
            name: 'Impact',
            x_mitre_shortname: 'impact',
            external_references: ref('TA0040'),
          },
          {
            type: 'x-mitre-tactic',
            id: 'x-mitre-tactic--2',
            name: 'Execution',
            x_mitre_shortname: 'execution',
            external_references: ref('TA0002'),
          },
          {
            type: 'attack-pattern',
            name: 'Sub',
            external_references: ref('T1059.004'),
            kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'execution' }],
            x_mitre_platforms: ['Linux'],
          },
          { type: 'attack-pattern', name: 'Old', revoked: true, external_references: ref('T1000') },
        ],
      },
      '19.0',
    );
    expect(t.tactics.map((x) => x.id)).toEqual(['TA0002', 'TA0040']);
    expect(t.techniques).toEqual([{ id: 'T1059.004', name: 'Sub', tactics: ['execution'], platforms: ['Linux'], subtechnique: true }]);
    expect(() => attackTableFrom({ objects: [] })).toThrow(/--version/);
  });
});
