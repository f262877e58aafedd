/**
 * The coverage in the formats purple teams use besides Navigator (navigator.ts): Bulwark's JSON
 * (with a reader), CSV in VECTR's import columns (detection times from the runs), and DeTT&CT's
 * techniques administration YAML (scores derived as docs/coverage.md says).
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { CELL_STATUSES, EVIDENCE, type CoverageCell, type CoverageMap } from './map.ts';

export const EXPORT_FORMATS = ['navigator', 'json', 'vectr-csv', 'dettect'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const nullableMs = z.number().nullable();
const TtdSchema = z.strictObject({ lastMs: nullableMs, p50Ms: nullableMs, p90Ms: nullableMs, samples: z.number().int() });
export const CoverageCellSchema = z.strictObject({
  technique: z.string(),
  name: z.string(),
  tactics: z.array(z.string()),
  platforms: z.array(z.string()),
  subtechnique: z.boolean(),
  inScope: z.boolean(),
  status: z.enum(CELL_STATUSES),
  evidence: z.enum(EVIDENCE).nullable(),
  experiments: z.array(z.string()),
  runs: z.number().int(),
  lastRun: z
    .strictObject({
      id: z.string(),
      experiment: z.string(),
      outcome: z.string(),
      evidence: z.enum(EVIDENCE),
      startedAt: z.string(),
      at: z.string(),
      ttdMs: nullableMs,
    })
    .nullable(),
  verifiedAt: z.string().nullable(),
  staleAt: z.string().nullable(),
  staleAfterDays: z.number().int(),
  ttd: TtdSchema,
  controls: z.array(
    z.strictObject({
      control: z.string(),
      evidence: z.enum(EVIDENCE),
      status: z.enum([...EVIDENCE, 'stale']),
      results: z.array(z.string()),
      lastRun: z.string(),
      experiment: z.string(),
      verifiedAt: z.string(),
      alertedTtdMs: nullableMs,
      loggedTtdMs: nullableMs,
      ttd: TtdSchema,
      runs: z.number().int(),
    }),
  ),
  rollup: z
    .strictObject({
      status: z.enum(CELL_STATUSES),
      weakest: z.string().nullable(),
      subtechniques: z.number().int(),
      inScope: z.number().int(),
      exercised: z.number().int(),
      verifiedAt: z.string().nullable(),
      runs: z.number().int(),
    })
    .nullable()
    .describe(
      'a technique with sub-techniques summarised with them: the weakest status of those in scope and exercised (docs/coverage.md)',
    ),
});

export const CoverageKrisSchema = z.strictObject({
  inScope: z.number().int(),
  exercised: z.number().int(),
  neverExercised: z.number().int(),
  stale: z.number().int(),
  blocked: z.number().int(),
  alerted: z.number().int(),
  logged: z.number().int(),
  none: z.number().int(),
});

export const CoverageExportSchema = z.strictObject({
  format: z.literal('bulwark-coverage'),
  version: z.literal(1),
  attackVersion: z.string(),
  at: z.string(),
  kris: CoverageKrisSchema,
  unknownTechniques: z.array(z.string()),
  techniques: z.array(CoverageCellSchema),
});
export type CoverageExport = z.output<typeof CoverageExportSchema>;

/** Cells worth exporting: in scope, or with evidence. */
export const exportedCells = (map: CoverageMap): CoverageCell[] => map.cells.filter((c) => c.inScope || c.runs > 0);

export function coverageExport(map: CoverageMap): CoverageExport {
  return {
    format: 'bulwark-coverage',
    version: 1,
    attackVersion: map.attackVersion,
    at: map.at,
    kris: map.kris,
    unknownTechniques: map.unknownTechniques,
    techniques: exportedCells(map),
  };
}

export function parseCoverageExport(text: string): { ok: true; value: CoverageExport } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = CoverageExportSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { ok: false, message: `not a Bulwark coverage export: ${i.path.join('.') || '(top)'}: ${i.message}` };
  }
  return { ok: true, value: r.data };
}

/** VECTR's import columns Bulwark fills: one row per technique with evidence, from its last counted run. */
export const VECTR_COLUMNS = [
  'Campaign',
  'Variant',
  'Objective',
  'Phase',
  'Method',
  'Technique ID',
  'Status',
  'Outcome',
  'Outcome Notes',
  'Alert Triggered',
  'Activity Logged',
  'Detection Time',
  'Start Time',
  'Stop Time',
  'Tags',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; a leading = + - @ is neutralised for spreadsheets. */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A logged-only result is not a detection in VECTR's terms: NotDetected, with Activity Logged Yes. */
const VECTR_OUTCOME = { blocked: 'Blocked', alerted: 'Detected', logged: 'NotDetected', none: 'NotDetected' } as const;

/** Per control, what the last run showed: `waf: blocked, logged; ids: none`. */
const controlNotes = (c: CoverageCell): string =>
  c.controls.map((x) => `${x.control}: ${x.results.join(', ')}${x.status === 'stale' ? ' (stale)' : ''}`).join('; ');

export function vectrCsv(map: CoverageMap, campaign = 'Bulwark'): string {
  const rows = exportedCells(map)
    .filter((c) => c.lastRun !== null)
    .map((c) => {
      const r = c.lastRun!;
      const detection = r.ttdMs === null ? '' : new Date(Date.parse(r.startedAt) + r.ttdMs).toISOString();
      // Alert Triggered and Activity Logged from the last run's controls (from its evidence for runs without them).
      const ofLast = c.controls.filter((x) => x.lastRun === r.id);
      const alerted = ofLast.length ? ofLast.some((x) => x.results.includes('alerted')) : r.evidence === 'alerted';
      const logged = ofLast.length
        ? ofLast.some((x) => x.results.includes('logged') || x.results.includes('alerted'))
        : r.evidence !== 'none';
      const notes = controlNotes(c);
      return [
        campaign,
        `${c.technique} ${c.name}`,
        r.experiment,
        c.tactics.join(' '),
        'Bulwark experiment',
        c.technique,
        'Completed',
        VECTR_OUTCOME[r.evidence],
        `run ${r.id}: ${r.outcome}${r.ttdMs === null ? '' : `, time to detect ${r.ttdMs} ms`}; status ${c.status}${notes ? `; controls: ${notes}` : ''}`,
        alerted ? 'Yes' : 'No',
        logged ? 'Yes' : 'No',
        detection,
        r.startedAt,
        r.at,
        c.experiments.join(' '),
      ];
    });
  return [VECTR_COLUMNS as readonly string[], ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/**
 * DeTT&CT's detection score (0–5, -1 none) of a cell, from its evidence alone:
 * alerted in time 4, alerted late 2, blocked 3 (prevented; a detection is not shown by it),
 * logged only 1 (the data is there to hunt in, nothing alerts), none -1; a stale cell scores 1
 * whatever it was (evidence too old to trust); never exercised gets no score entry.
 */
export function dettectScore(c: CoverageCell): number | null {
  if (c.lastRun === null) return null;
  if (c.status === 'stale') return 1;
  switch (c.lastRun.evidence) {
    case 'alerted':
      return c.lastRun.outcome === 'detected-late' ? 2 : 4;
    case 'blocked':
      return 3;
    case 'logged':
      return 1;
    case 'none':
      return -1;
  }
}

/** The techniques administration file (DeTT&CT file_type technique-administration, version 1.2). */
export function dettectYaml(map: CoverageMap, name = 'Bulwark coverage'): string {
  const techniques = exportedCells(map)
    .filter((c) => c.lastRun !== null)
    .map((c) => {
      const score = dettectScore(c)!;
      const date = c.verifiedAt!.slice(0, 10);
      return {
        technique_id: c.technique,
        technique_name: c.name,
        detection: [
          {
            applicable_to: ['all'],
            location: ['Bulwark'],
            comment: `${c.status}; last run ${c.lastRun!.id} (${c.lastRun!.outcome})`,
            score_logbook: [{ date, score, comment: `from Bulwark evidence: ${c.runs} counted run(s)` }],
          },
        ],
        visibility: [
          {
            applicable_to: ['all'],
            comment: '',
            score_logbook: [
              {
                date,
                score: c.lastRun!.evidence === 'alerted' || c.lastRun!.evidence === 'logged' ? 3 : 0,
                auto_generated: true,
                comment: '',
              },
            ],
          },
        ],
      };
    });
  return stringify({
    version: 1.2,
    file_type: 'technique-administration',
    name,
    domain: 'enterprise-attack',
    platform: ['all'],
    techniques,
  });
}
