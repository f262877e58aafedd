/**
 * ATT&CK Navigator layers, format 4.5 (mitre-attack/attack-navigator, layers/spec/v4.5/
 * layerformat.md): the schema a layer is read with, and the layer made from a coverage map,
 * with scores and colours from the evidence, a legend, and per technique a comment and
 * metadata (last run, time to detect, when verified).
 */
import { z } from 'zod';
import type { CellStatus, CoverageCell, CoverageMap } from './map.ts';

const Metadata = z.union([z.strictObject({ name: z.string(), value: z.string() }), z.strictObject({ divider: z.boolean() })]);
const Link = z.union([z.strictObject({ label: z.string(), url: z.string() }), z.strictObject({ divider: z.boolean() })]);

export const NavigatorTechniqueSchema = z.strictObject({
  techniqueID: z.string().regex(/^T\d{4}(\.\d{3})?$/, 'techniqueID is T#### or T####.###'),
  tactic: z.string().optional(),
  comment: z.string().optional(),
  enabled: z.boolean().optional(),
  score: z.number().optional(),
  color: z.string().optional(),
  metadata: z.array(Metadata).optional(),
  links: z.array(Link).optional(),
  showSubtechniques: z.boolean().optional(),
});

/** One layer of format 4.5; unknown properties are refused, so a typo is found rather than dropped. */
export const NavigatorLayerSchema = z.strictObject({
  name: z.string(),
  versions: z.strictObject({ attack: z.string().optional(), navigator: z.string(), layer: z.literal('4.5') }).optional(),
  domain: z.enum(['enterprise-attack', 'mobile-attack', 'ics-attack']),
  description: z.string().optional(),
  customDataURL: z.string().optional(),
  filters: z.strictObject({ platforms: z.array(z.string()).optional() }).optional(),
  sorting: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
  layout: z
    .strictObject({
      layout: z.enum(['side', 'flat', 'mini']).optional(),
      showID: z.boolean().optional(),
      showName: z.boolean().optional(),
      showAggregateScores: z.boolean().optional(),
      countUnscored: z.boolean().optional(),
      aggregateFunction: z.enum(['average', 'min', 'max', 'sum']).optional(),
      expandedSubtechniques: z.enum(['none', 'all', 'annotated']).optional(),
    })
    .optional(),
  hideDisabled: z.boolean().optional(),
  techniques: z.array(NavigatorTechniqueSchema).optional(),
  gradient: z
    .strictObject({ colors: z.array(z.string()).min(2), minValue: z.number(), maxValue: z.number() })
    .refine((g) => g.maxValue > g.minValue, 'gradient.maxValue must be greater than minValue')
    .optional(),
  legendItems: z.array(z.strictObject({ label: z.string(), color: z.string() })).optional(),
  showTacticRowBackground: z.boolean().optional(),
  tacticRowBackground: z.string().optional(),
  selectTechniquesAcrossTactics: z.boolean().optional(),
  selectSubtechniquesWithParent: z.boolean().optional(),
  selectVisibleTechniques: z.boolean().optional(),
  metadata: z.array(Metadata).optional(),
  links: z.array(Link).optional(),
});

export type NavigatorLayer = z.output<typeof NavigatorLayerSchema>;

/** The Navigator release whose layers are 4.5 (the spec asks for at least 4.9.0 with layer 4.5). */
export const NAVIGATOR_VERSION = '5.2.0';

/** Colours and scores of the statuses, the same on the dashboard. */
export const STATUS_STYLE: Readonly<Record<CellStatus, { color: string; score?: number; label: string }>> = {
  blocked: { color: '#2e7d32', score: 100, label: 'blocked (prevented)' },
  alerted: { color: '#f9a825', score: 67, label: 'alerted (detected, in time or late)' },
  logged: { color: '#ef6c00', score: 40, label: 'logged, not alerted' },
  stale: { color: '#90a4ae', score: 33, label: 'stale: covered once, not verified within its age' },
  none: { color: '#c62828', score: 0, label: 'none (missed)' },
  never: { color: '#ffffff', label: 'in scope, never exercised' },
  'out-of-scope': { color: '#e0e0e0', label: 'not in scope' },
};

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);

/** What a technique shows: for one with sub-techniques, its roll-up (the weakest of it and them), else its own status. */
export const shownStatus = (c: CoverageCell): CellStatus => c.rollup?.status ?? c.status;

function rollupNote(c: CoverageCell): string {
  const r = c.rollup;
  if (!r) return '';
  const weakest = r.weakest ? `, weakest ${r.weakest}` : '';
  const oldest = r.verifiedAt ? `, oldest verified ${r.verifiedAt}` : '';
  return `roll-up ${r.status}${weakest}: ${r.exercised} of ${r.subtechniques} sub-techniques exercised${oldest}. Own evidence: `;
}

function techniqueOf(c: CoverageCell): z.output<typeof NavigatorTechniqueSchema> {
  const status = shownStatus(c);
  const style = STATUS_STYLE[status];
  const last = c.lastRun;
  const own = last
    ? `${c.status}: last run ${last.id} of ${last.experiment} ${last.outcome} at ${last.at}; ${c.runs} counted run(s)`
    : c.inScope
      ? 'in scope, never exercised'
      : 'not in scope';
  const r = c.rollup;
  return {
    techniqueID: c.technique,
    ...(style.score !== undefined ? { score: style.score } : {}),
    color: style.color,
    comment: `${rollupNote(c)}${own}`,
    enabled: status !== 'out-of-scope',
    metadata: [
      { name: 'status', value: c.status },
      ...(r
        ? [
            { name: 'roll-up', value: `${r.status}${r.weakest ? ` (weakest ${r.weakest})` : ''}` },
            { name: 'sub-techniques exercised', value: `${r.exercised} of ${r.subtechniques} (${r.inScope} in scope)` },
            { name: 'roll-up verified (oldest)', value: r.verifiedAt ?? 'never' },
          ]
        : []),
      { name: 'last run', value: last?.id ?? '-' },
      { name: 'time to detect (last)', value: ms(c.ttd.lastMs) },
      { name: 'time to detect (p50)', value: ms(c.ttd.p50Ms) },
      { name: 'time to detect (p90)', value: ms(c.ttd.p90Ms) },
      { name: 'time to detect (n)', value: String(c.ttd.samples) },
      { name: 'verified', value: c.verifiedAt ?? 'never' },
      { name: 'experiments', value: c.experiments.join(', ') || '-' },
      ...c.controls.map((x) => ({
        name: `control ${x.control}`,
        value: `${x.results.join(', ')}${x.status === 'stale' ? ' (stale)' : ''}; run ${x.lastRun} at ${x.verifiedAt}; time to detect last ${ms(x.ttd.lastMs)}, p50 ${ms(x.ttd.p50Ms)}, p90 ${ms(x.ttd.p90Ms)} (n ${x.ttd.samples})`,
      })),
    ],
  };
}

/** The coverage as one Navigator layer: every technique in scope or with evidence; out-of-scope ones disabled. */
export function layerFromCoverage(map: CoverageMap, name = 'Bulwark coverage'): NavigatorLayer {
  // A technique whose sub-techniques are in scope shows their roll-up even when it is not in scope itself.
  const shown = map.cells.filter((c) => c.inScope || c.runs > 0 || (c.rollup !== null && c.rollup.status !== 'out-of-scope'));
  return {
    name,
    versions: { attack: map.attackVersion.split('.')[0]!, navigator: NAVIGATOR_VERSION, layer: '4.5' },
    domain: 'enterprise-attack',
    description: `Evidence from Bulwark's experiment runs at ${map.at}: ${map.kris.blocked} blocked, ${map.kris.alerted} alerted, ${map.kris.logged} logged, ${map.kris.none} none, ${map.kris.stale} stale, ${map.kris.neverExercised} never exercised of ${map.kris.inScope} in scope.`,
    sorting: 3,
    layout: { layout: 'side', showID: true, showName: true, expandedSubtechniques: 'annotated' },
    hideDisabled: false,
    techniques: shown.map(techniqueOf),
    gradient: { colors: ['#c62828', '#f9a825', '#2e7d32'], minValue: 0, maxValue: 100 },
    legendItems: (['blocked', 'alerted', 'logged', 'stale', 'none', 'never', 'out-of-scope'] as const).map((s) => ({
      label: STATUS_STYLE[s].label,
      color: STATUS_STYLE[s].color,
    })),
    metadata: [
      { name: 'generated by', value: 'Bulwark' },
      { name: 'at', value: map.at },
      { name: 'ATT&CK', value: `v${map.attackVersion}` },
    ],
  };
}

/** A layer file: one layer, or a list of them (Navigator's download of every open layer). */
export function parseLayers(text: string): { ok: true; layers: NavigatorLayer[] } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = Array.isArray(json) ? z.array(NavigatorLayerSchema).safeParse(json) : NavigatorLayerSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { ok: false, message: `not a 4.5 layer: ${i.path.join('.') || '(top)'}: ${i.message}` };
  }
  return { ok: true, layers: Array.isArray(r.data) ? r.data : [r.data] };
}

export const writeLayer = (layer: NavigatorLayer): string => `${JSON.stringify(layer, null, 2)}\n`;
