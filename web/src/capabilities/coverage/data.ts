import type { ApiClient } from '../../api.ts';
import type { CellStatus, CoverageCell, CoverageKris } from '../../../../src/core/coverage/map.ts';

export type { CellStatus, CoverageCell, CoverageKris };

export interface Tactic {
  id: string;
  shortname: string;
  name: string;
}

export interface CoverageView {
  attackVersion: string;
  attribution: string;
  at: string;
  settingsVersion: number;
  tactics: Tactic[];
  kris: CoverageKris;
  unknownTechniques: string[];
  techniques: CoverageCell[];
}

export interface CoverageRunView {
  id: string;
  experiment: string;
  outcome: string | null;
  evidence: string | null;
  startedAt: string;
  endedAt: string | null;
  ttdMs: number | null;
  controls?: { control: string; results: string[]; alertedTtdMs: number | null; loggedTtdMs: number | null }[];
  /** A run another tool executed, imported from its ATTiRe log. */
  external?: { format: 'attire'; source: string; procedure: string; target: string; signalId: string | null };
}

export interface TechniqueView {
  technique: CoverageCell;
  subtechniques: CoverageCell[];
  applied: { name: string; title: string; techniques: string[] }[];
  runs: CoverageRunView[];
}

/** The colours of the statuses: the same as the Navigator export's (src/core/coverage/navigator.ts STATUS_STYLE). */
export const STATUS_INFO: Readonly<Record<CellStatus, { color: string; text: string; label: string }>> = {
  blocked: { color: '#2e7d32', text: '#ffffff', label: 'Blocked' },
  alerted: { color: '#f9a825', text: '#1a1a1a', label: 'Alerted' },
  logged: { color: '#ef6c00', text: '#ffffff', label: 'Logged, not alerted' },
  stale: { color: '#90a4ae', text: '#1a1a1a', label: 'Stale (unverified)' },
  none: { color: '#c62828', text: '#ffffff', label: 'None (missed)' },
  never: { color: '#ffffff', text: '#1a1a1a', label: 'Never exercised' },
  'out-of-scope': { color: '#e0e0e0', text: '#616161', label: 'Not in scope' },
};

export const STATUS_ORDER: readonly CellStatus[] = ['blocked', 'alerted', 'logged', 'stale', 'none', 'never', 'out-of-scope'];

export function techniqueHref(id: string): string {
  return `/attack/${encodeURIComponent(id)}`;
}

/** The map; with a control, only that control's results (the API's ?control=). */
export function loadCoverage(api: ApiClient, signal: AbortSignal, control = ''): Promise<CoverageView> {
  return api.get<CoverageView>(`/v1/coverage?all=true${control ? `&control=${encodeURIComponent(control)}` : ''}`, signal);
}

/** Every control tested against some technique, by name. */
export function controlsOf(view: CoverageView): string[] {
  return [...new Set(view.techniques.flatMap((c) => c.controls.map((x) => x.control)))].sort();
}

export function loadTechnique(api: ApiClient, id: string, signal: AbortSignal): Promise<TechniqueView> {
  return api.get<TechniqueView>(`/v1/coverage/techniques/${encodeURIComponent(id)}`, signal);
}

/** The matrix's columns: per tactic, its techniques (parents), each with the sub-techniques worth showing (in scope or with evidence). */
export function matrixColumns(
  view: CoverageView,
  filter: { tactic: string; platform: string },
): { tactic: Tactic; rows: { cell: CoverageCell; subs: CoverageCell[] }[] }[] {
  const onPlatform = (c: CoverageCell) => filter.platform === '' || c.platforms.includes(filter.platform);
  const subsOf = new Map<string, CoverageCell[]>();
  for (const c of view.techniques)
    if (c.subtechnique && (c.inScope || c.runs > 0) && onPlatform(c)) {
      const parent = c.technique.split('.')[0]!;
      subsOf.set(parent, [...(subsOf.get(parent) ?? []), c]);
    }
  return view.tactics
    .filter((t) => filter.tactic === '' || t.shortname === filter.tactic)
    .map((tactic) => ({
      tactic,
      rows: view.techniques
        .filter((c) => !c.subtechnique && c.tactics.includes(tactic.shortname) && onPlatform(c))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((cell) => ({ cell, subs: (subsOf.get(cell.technique) ?? []).filter((s) => s.tactics.includes(tactic.shortname)) })),
    }));
}

/** Start a run of an applied experiment (the experiments API; needs experiments:run). */
export async function runNow(api: ApiClient, name: string): Promise<{ id: string }> {
  const body = await api.post<{ run: { id: string } }>(`/v1/experiments/${encodeURIComponent(name)}/runs`, {});
  return body.run;
}
