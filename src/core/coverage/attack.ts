/**
 * The ATT&CK Enterprise table Bulwark ships (attack/enterprise-v18.1.json: tactics in matrix
 * order, techniques and sub-techniques without deprecated or revoked ones), made from MITRE's
 * STIX data by scripts/attack-table.ts; a user loads a newer one the same way.
 */
import table from './attack/enterprise-v18.1.json' with { type: 'json' };

export interface AttackTactic {
  /** TA0001… */
  id: string;
  /** As in kill-chain phases and Navigator layers: `initial-access`. */
  shortname: string;
  name: string;
}

export interface AttackTechnique {
  /** T1190 or T1110.001. */
  id: string;
  name: string;
  /** Tactic shortnames. */
  tactics: string[];
  platforms: string[];
  subtechnique: boolean;
}

export interface AttackTable {
  /** The ATT&CK release, `18.1`. */
  version: string;
  source: string;
  attribution: string;
  tactics: AttackTactic[];
  techniques: AttackTechnique[];
}

/** The shipped table. */
export const ATTACK: AttackTable = table;

/** Techniques by id, of a table. */
export function techniqueIndex(t: AttackTable): ReadonlyMap<string, AttackTechnique> {
  return new Map(t.techniques.map((x) => [x.id, x]));
}

/** A technique's parent (T1110 for T1110.001), or itself. */
export const parentOf = (id: string): string => id.split('.')[0]!;
