/**
 * Builds Bulwark's ATT&CK table from MITRE's data: a STIX-derived table (tactics and techniques
 * with their fields, as ../shared/attack/ holds) or a STIX 2.1 bundle (x-mitre-matrix,
 * x-mitre-tactic and attack-pattern objects). Deprecated and revoked techniques are left out.
 * Pure: the script scripts/attack-table.ts reads and writes the files.
 */
import type { AttackTable, AttackTactic, AttackTechnique } from './attack.ts';

export const MITRE_ATTRIBUTION =
  '© The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new Error(`${what}: expected a non-empty string`);
  return v;
};
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The table from either input form; `version` when the input does not say it (a bundle does not). */
export function attackTableFrom(input: unknown, version?: string): AttackTable {
  if (!isObj(input)) throw new Error('the input is not a JSON object');
  if (Array.isArray(input.objects)) return fromBundle(input.objects.filter(isObj), version);
  if (Array.isArray(input.tactics) && Array.isArray(input.techniques)) return fromTable(input, version);
  throw new Error('the input is neither a STIX bundle (objects) nor a table (tactics, techniques)');
}

function fromTable(input: Obj, version?: string): AttackTable {
  const source = typeof input.source === 'string' ? input.source : 'MITRE ATT&CK';
  const v = version ?? /ATT&CK v(\d+(?:\.\d+)?)/.exec(source)?.[1];
  if (!v) throw new Error('the ATT&CK version is not in the input\'s "source": pass --version');
  const tactics: AttackTactic[] = (input.tactics as unknown[]).filter(isObj).map((t) => ({
    id: str(t.id, 'tactic id'),
    shortname: str(t.shortname, 'tactic shortname'),
    name: str(t.name, 'tactic name'),
  }));
  const techniques = (input.techniques as unknown[])
    .filter(isObj)
    .filter((t) => t.deprecated !== true && t.revoked !== true)
    .map((t) => technique(str(t.id, 'technique id'), str(t.name, 'technique name'), strs(t.tactics), strs(t.platforms)));
  return finish(v, source, tactics, techniques);
}

function fromBundle(objects: Obj[], version?: string): AttackTable {
  const extId = (o: Obj) =>
    (Array.isArray(o.external_references) ? o.external_references.filter(isObj) : []).find((r) => r.source_name === 'mitre-attack')
      ?.external_id;
  const live = (o: Obj) => o.revoked !== true && o.x_mitre_deprecated !== true;
  const matrix = objects.find((o) => o.type === 'x-mitre-matrix' && live(o));
  const tacticObjs = new Map(objects.filter((o) => o.type === 'x-mitre-tactic').map((o) => [o.id as string, o]));
  const order = matrix ? strs(matrix.tactic_refs) : [...tacticObjs.keys()];
  const tactics = order.flatMap((ref) => {
    const t = tacticObjs.get(ref);
    return t
      ? [{ id: str(extId(t), 'tactic id'), shortname: str(t.x_mitre_shortname, 'tactic shortname'), name: str(t.name, 'tactic name') }]
      : [];
  });
  const v = version;
  if (!v) throw new Error('a STIX bundle does not state the ATT&CK release: pass --version');
  const techniques = objects
    .filter((o) => o.type === 'attack-pattern' && live(o) && typeof extId(o) === 'string')
    .map((o) =>
      technique(
        extId(o) as string,
        str(o.name, 'technique name'),
        (Array.isArray(o.kill_chain_phases) ? o.kill_chain_phases.filter(isObj) : [])
          .filter((p) => p.kill_chain_name === 'mitre-attack')
          .map((p) => String(p.phase_name)),
        strs(o.x_mitre_platforms),
      ),
    );
  return finish(v, `STIX bundle, ATT&CK v${v}`, tactics, techniques);
}

function technique(id: string, name: string, tactics: string[], platforms: string[]): AttackTechnique {
  if (!/^T\d{4}(\.\d{3})?$/.test(id)) throw new Error(`technique id ${id}: expected T1234 or T1234.001`);
  return { id, name, tactics, platforms, subtechnique: id.includes('.') };
}

function finish(version: string, source: string, tactics: AttackTactic[], techniques: AttackTechnique[]): AttackTable {
  const known = new Set(tactics.map((t) => t.shortname));
  const kept = techniques
    .map((t) => ({ ...t, tactics: t.tactics.filter((s) => known.has(s)) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { version, source, attribution: MITRE_ATTRIBUTION, tactics, techniques: kept };
}
