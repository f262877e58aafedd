/**
 * Coverage over HTTP: the map (filtered), one technique with its experiments and last runs, the
 * exports (Navigator layer, JSON, VECTR CSV, DeTT&CT YAML) and the settings document.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { externalExperiment, importAttire } from '../../app/coverage/attire.ts';
import { coverageMap, getCoverageSettings, setCoverageSettings, toCoverageRun } from '../../app/coverage/coverage.ts';
import type { AppDeps } from '../../app/deps.ts';
import { ATTACK, parentOf } from '../../core/coverage/attack.ts';
import { ATTIRE_MATCHES, ATTIRE_OUTCOMES, DEFAULT_ATTIRE_WINDOW_SECONDS, MAX_ATTIRE_WINDOW_SECONDS } from '../../core/coverage/attire.ts';
import {
  CoverageCellSchema,
  CoverageExportSchema,
  CoverageKrisSchema,
  coverageExport,
  dettectYaml,
  vectrCsv,
} from '../../core/coverage/exports.ts';
import { CELL_STATUSES, evidenceOf, runEvidence, type CoverageCell, type CoverageMap } from '../../core/coverage/map.ts';
import { layerFromCoverage, NavigatorLayerSchema } from '../../core/coverage/navigator.ts';
import { CoverageSettingsView } from '../../core/coverage/settings.ts';
import { notFound } from '../../core/errors.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import type { RouteRegistry } from '../route.ts';

const read = { permission: 'coverage:read' } as const;
const techniqueId = z.string().regex(/^T\d{4}(\.\d{3})?$/, 'a technique id is T1234 or T1234.001');
const list = (what: string) =>
  z
    .string()
    .max(2000)
    .optional()
    .describe(`${what}, comma-separated`)
    .transform((s) => (s === undefined || s === '' ? undefined : s.split(',').map((x) => x.trim())));

const control = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a control is a name such as waf (a-z, 0-9, "_", "-", ".")')
  .optional()
  .describe("only this control's results (an experiment's expect.*.control; `default` for expectations that name none)");

/** The exports' query: one control's layer, or all of them combined. */
export const ExportQuery = z.strictObject({ control });

export const CoverageQuery = z.strictObject({
  control,
  tactic: list('only techniques under one of these tactics (shortnames)'),
  platform: list('only techniques on one of these platforms'),
  status: z
    .string()
    .max(200)
    .optional()
    .describe(`only cells of these statuses, comma-separated: ${CELL_STATUSES.join(', ')}`)
    .transform((s, ctx) => {
      if (s === undefined || s === '') return undefined;
      const xs = s.split(',').map((x) => x.trim());
      const bad = xs.filter((x) => !(CELL_STATUSES as readonly string[]).includes(x));
      if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown status ${bad.join(', ')}; use ${CELL_STATUSES.join(', ')}` });
      return xs as (typeof CELL_STATUSES)[number][];
    }),
  all: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: every technique of the table, also those out of scope without evidence')
    .transform((v) => v === 'true'),
});
type Filters = z.output<typeof CoverageQuery>;

const Tactic = z.object({ id: z.string(), shortname: z.string(), name: z.string() });

export const CoverageView = z.object({
  attackVersion: z.string(),
  attribution: z.string(),
  at: z.string(),
  settingsVersion: z.number().int(),
  tactics: z.array(Tactic),
  kris: CoverageKrisSchema,
  unknownTechniques: z.array(z.string()),
  techniques: z.array(CoverageCellSchema),
});

const RunView = z.object({
  id: z.string(),
  experiment: z.string(),
  outcome: z.string().nullable(),
  evidence: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  ttdMs: z.number().nullable(),
  /** Per-control results, when the run recorded them. */
  controls: z
    .array(
      z.object({
        control: z.string(),
        results: z.array(z.string()),
        alertedTtdMs: z.number().nullable(),
        loggedTtdMs: z.number().nullable(),
      }),
    )
    .optional(),
  /** For a run another tool executed, imported from its log: what and where. */
  external: z
    .object({ format: z.literal('attire'), source: z.string(), procedure: z.string(), target: z.string(), signalId: z.string().nullable() })
    .optional(),
});

/** The largest ATTiRe log the import takes (the server's body limit may be lower: 1 MiB by default). */
const MAX_ATTIRE_LENGTH = 4 * 1024 * 1024;

export const AttireImportView = z.object({
  executionId: z.string(),
  source: z.string(),
  target: z.object({ host: z.string().nullable(), ip: z.string().nullable(), user: z.string().nullable() }),
  windowSeconds: z.number().int(),
  deadlineSeconds: z.number().int().nullable(),
  match: z.enum(ATTIRE_MATCHES),
  runs: z.array(
    z.object({
      id: z.string(),
      technique: z.string(),
      procedure: z.string(),
      startedAt: z.string(),
      endedAt: z.string(),
      outcome: z.enum(ATTIRE_OUTCOMES),
      ttdMs: z.number().nullable(),
      signalId: z.string().nullable(),
      imported: z.boolean(),
    }),
  ),
});

export const TechniqueView = z.object({
  technique: CoverageCellSchema,
  subtechniques: z.array(CoverageCellSchema),
  /** Applied experiments that name the technique (or one of its sub-techniques), run or not: what "run now" can start. */
  applied: z.array(z.object({ name: z.string(), title: z.string(), techniques: z.array(z.string()) })),
  runs: z.array(RunView),
});

export const SettingsView = z.object({
  settings: CoverageSettingsView,
  version: z.number().int(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});

export function filterCells(map: CoverageMap, f: Filters): CoverageCell[] {
  return map.cells.filter(
    (c) =>
      (f.all || c.inScope || c.runs > 0) &&
      (!f.tactic || c.tactics.some((t) => f.tactic!.includes(t))) &&
      (!f.platform || c.platforms.some((p) => f.platform!.includes(p))) &&
      (!f.status || f.status.includes(c.status)),
  );
}

export function coverageRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'GET',
    url: '/v1/coverage',
    tag: 'coverage',
    summary:
      'The ATT&CK coverage map: per technique in scope (or with evidence) its status, last run, time to detect and freshness; the KRIs',
    auth: read,
    priority: 'low',
    query: CoverageQuery,
    response: CoverageView,
    handler: async ({ query }) => {
      const settings = await getCoverageSettings(deps);
      const map = await coverageMap(deps, { settings: settings.settings, ...(query.control ? { control: query.control } : {}) });
      return {
        attackVersion: map.attackVersion,
        attribution: ATTACK.attribution,
        at: map.at,
        settingsVersion: settings.version,
        tactics: ATTACK.tactics,
        kris: map.kris,
        unknownTechniques: map.unknownTechniques,
        techniques: filterCells(map, query),
      };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/techniques/:id',
    tag: 'coverage',
    summary:
      'One technique: its cell, its sub-techniques’ cells, the applied experiments that name it, and its last counted runs (newest first, at most 50)',
    auth: read,
    priority: 'low',
    params: z.strictObject({ id: techniqueId }),
    response: TechniqueView,
    errors: [404],
    handler: async ({ params }) => {
      const map = await coverageMap(deps);
      const cell = map.cells.find((c) => c.technique === params.id);
      if (!cell) throw notFound(`no technique ${params.id} in ATT&CK v${map.attackVersion} (or it is deprecated or revoked)`);
      const subtechniques = cell.subtechnique ? [] : map.cells.filter((c) => c.subtechnique && parentOf(c.technique) === cell.technique);
      const experiments = await deps.store.experiments.list();
      const byTitle = new Map(experiments.map((e) => [e.title, e]));
      const applied = experiments
        .filter((e) => e.techniques.some((t) => t === params.id || (!cell.subtechnique && parentOf(t) === params.id)))
        .map((e) => ({ name: e.name, title: e.title, techniques: e.techniques }));
      const runs: z.input<typeof RunView>[] = [];
      let cursor: { startedAt: string; id: string } | undefined;
      // Newest first, until 50 runs of this technique are found.
      while (runs.length < 50) {
        const page = await deps.store.runs.list({ limit: 500, state: 'done', ...(cursor ? { cursor } : {}) });
        for (const run of page.runs) {
          const c = toCoverageRun(run, byTitle.get(run.experiment));
          if (c && c.techniques.includes(params.id) && runs.length < 50)
            runs.push({
              id: c.id,
              experiment: c.experiment,
              outcome: c.outcome,
              evidence: runEvidence(c),
              startedAt: c.startedAt,
              endedAt: c.endedAt,
              ttdMs: c.ttdMs,
              ...(c.controls
                ? {
                    controls: c.controls.map((x) => ({
                      control: x.control,
                      results: [...x.results],
                      alertedTtdMs: x.alertedTtdMs ?? null,
                      loggedTtdMs: x.loggedTtdMs ?? null,
                    })),
                  }
                : {}),
            });
        }
        if (!page.next) break;
        cursor = page.next;
      }
      // Runs other tools executed (imported ATTiRe logs), merged in by end time.
      for (const x of await deps.store.coverageExternalRuns.list())
        if (x.technique === params.id)
          runs.push({
            id: x.id,
            experiment: externalExperiment(x),
            outcome: x.outcome,
            evidence: evidenceOf(x.outcome),
            startedAt: x.startedAt,
            endedAt: x.endedAt,
            ttdMs: x.ttdMs,
            external: {
              format: 'attire',
              source: x.source,
              procedure: x.procedure,
              target: x.target.host ?? x.target.ip ?? '',
              signalId: x.signalId,
            },
          });
      runs.sort((a, b) => ((b.endedAt ?? '') < (a.endedAt ?? '') ? -1 : (b.endedAt ?? '') > (a.endedAt ?? '') ? 1 : a.id < b.id ? -1 : 1));
      return { technique: cell, subtechniques, applied, runs: runs.slice(0, 50) };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/export/navigator',
    tag: 'coverage',
    summary:
      'The coverage as an ATT&CK Navigator layer (format 4.5): scores and colours from the evidence, a legend, per technique the last run',
    auth: read,
    priority: 'low',
    response: NavigatorLayerSchema,
    query: ExportQuery,
    handler: async ({ reply, query }) => {
      void reply.header('content-disposition', 'attachment; filename="bulwark-coverage.layer.json"');
      return layerFromCoverage(
        await coverageMap(deps, query.control ? { control: query.control } : {}),
        query.control ? `Bulwark coverage: ${query.control}` : undefined,
      );
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/export/json',
    tag: 'coverage',
    summary: 'The coverage as Bulwark’s JSON export (every technique in scope or with evidence, the KRIs)',
    auth: read,
    priority: 'low',
    response: CoverageExportSchema,
    query: ExportQuery,
    handler: async ({ query }) => coverageExport(await coverageMap(deps, query.control ? { control: query.control } : {})),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/export/vectr-csv',
    tag: 'coverage',
    summary: 'The coverage as CSV in VECTR’s import columns, one row per technique with evidence, detection times from the runs',
    auth: read,
    priority: 'low',
    produces: 'text/csv',
    query: ExportQuery,
    handler: async ({ reply, query }) =>
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="bulwark-coverage.csv"')
        .send(vectrCsv(await coverageMap(deps, query.control ? { control: query.control } : {}))),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/export/dettect',
    tag: 'coverage',
    summary: 'The coverage as a DeTT&CT techniques administration file (YAML), detection scores derived from the evidence',
    auth: read,
    priority: 'low',
    produces: 'application/yaml',
    query: ExportQuery,
    handler: async ({ reply, query }) =>
      reply
        .header('content-type', 'application/yaml; charset=utf-8')
        .header('content-disposition', 'attachment; filename="techniques-administration-bulwark.yaml"')
        .send(dettectYaml(await coverageMap(deps, query.control ? { control: query.control } : {}))),
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/coverage/imports/attire',
    tag: 'coverage',
    summary:
      'Import an ATTiRe log (Atomic Red Team’s execution log): each procedure a run of its technique, matched to the signals received to give it an outcome and a time to detect',
    auth: { permission: 'coverage:write' },
    body: z.strictObject({
      log: z.string().min(1).max(MAX_ATTIRE_LENGTH).describe('the ATTiRe log, JSON text'),
      windowSeconds: z
        .number()
        .int()
        .min(1)
        .max(MAX_ATTIRE_WINDOW_SECONDS)
        .optional()
        .describe(`how long after a procedure started a signal counts as its detection (default ${DEFAULT_ATTIRE_WINDOW_SECONDS})`),
      deadlineSeconds: z
        .number()
        .int()
        .min(0)
        .max(MAX_ATTIRE_WINDOW_SECONDS - 1)
        .optional()
        .describe(
          'a detection after this many seconds is detected-late (less than the window); none by default: every detection in the window is in time',
        ),
      match: z
        .enum(ATTIRE_MATCHES)
        .optional()
        .describe('host (default): only signals with a label equal to the target host or ip; any: every signal in the window'),
    }),
    status: 201,
    response: AttireImportView,
    errors: [400],
    handler: async ({ body, principal, req }) =>
      importAttire(deps, apiActor(principal, req.id), body.log, {
        ...(body.windowSeconds !== undefined ? { windowSeconds: body.windowSeconds } : {}),
        ...(body.deadlineSeconds !== undefined ? { deadlineSeconds: body.deadlineSeconds } : {}),
        ...(body.match !== undefined ? { match: body.match } : {}),
      }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/coverage/settings',
    tag: 'coverage',
    summary: 'The coverage settings: scope, threat profiles and how long evidence stays fresh (version 0: the defaults)',
    auth: read,
    response: SettingsView,
    handler: async () => getCoverageSettings(deps),
  });

  r.add(app, {
    method: 'PUT',
    url: '/v1/coverage/settings',
    tag: 'coverage',
    summary: 'Store the coverage settings as their next version (written to the ledger)',
    auth: { permission: 'coverage:write' },
    body: z.unknown().describe('the settings document: scope, profiles, staleAfterDays (see docs/coverage.md)'),
    response: SettingsView,
    errors: [400],
    handler: async ({ body, principal, req }) => setCoverageSettings(deps, apiActor(principal, req.id), body),
  });
}
