/**
 * Coverage settings: the scope (platforms, tactics, an explicit list, threat profiles) and how
 * long evidence stays fresh (a default, per technique, per tactic). Stored as one document
 * (PUT /v1/coverage/settings); this is its schema and the rules that read it.
 */
import { z } from 'zod';
import { SOURCE_CLASSES } from '../experiments/controls.ts';
import type { AttackTable, AttackTechnique } from './attack.ts';

export const DEFAULT_STALE_AFTER_DAYS = 30;

const techniqueId = z.string().regex(/^T\d{4}(\.\d{3})?$/, 'a technique id is T1234 or T1234.001');
const days = z.number().int().min(1).max(3650);
const sourceName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a source is 1–63 characters of a-z, 0-9, "_" and "-"');
const profileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'a profile name is 1–64 letters, digits, " ", ".", "_" or "-"');

export const CoverageSettingsSchema = z.strictObject({
  scope: z
    .strictObject({
      platforms: z.array(z.string().min(1).max(64)).max(64).optional().describe('techniques on any of these platforms'),
      tactics: z.array(z.string().min(1).max(64)).max(64).optional().describe('techniques under any of these tactics (shortnames)'),
      techniques: z.array(techniqueId).max(2000).optional().describe('these techniques, whatever the filters say'),
      profiles: z.array(profileName).max(64).optional().describe('the techniques of these threat profiles'),
    })
    .default({}),
  profiles: z.record(profileName, z.array(techniqueId).max(2000)).default({}).describe('threat profiles: a named list of techniques'),
  staleAfterDays: z
    .strictObject({
      default: days.default(DEFAULT_STALE_AFTER_DAYS),
      techniques: z.record(techniqueId, days).default({}),
      tactics: z.record(z.string().min(1).max(64), days).default({}),
      tags: z.record(z.string().min(1).max(200), days).default({}).describe("per experiment tag (the file's tags)"),
    })
    .default({ default: DEFAULT_STALE_AFTER_DAYS, techniques: {}, tactics: {}, tags: {} }),
  signalSources: z
    .record(sourceName, z.enum(SOURCE_CLASSES))
    .refine((r) => Object.keys(r).length <= 1000, 'at most 1000 sources')
    .default({})
    .describe("sources declared alerting or logs (an experiment's must: alerted | logged); the rest by their format's default"),
});

export type CoverageSettings = z.output<typeof CoverageSettingsSchema>;

/** The settings as the API answers them: every field present, no defaults (a response schema describes what is sent). */
export const CoverageSettingsView = z.object({
  scope: z.object({
    platforms: z.array(z.string()).optional(),
    tactics: z.array(z.string()).optional(),
    techniques: z.array(z.string()).optional(),
    profiles: z.array(z.string()).optional(),
  }),
  profiles: z.record(z.string(), z.array(z.string())),
  staleAfterDays: z.object({
    default: z.number().int(),
    techniques: z.record(z.string(), z.number().int()),
    tactics: z.record(z.string(), z.number().int()),
    tags: z.record(z.string(), z.number().int()),
  }),
  signalSources: z.record(z.string(), z.enum(SOURCE_CLASSES)),
});
export type CoverageSettingsInput = z.input<typeof CoverageSettingsSchema>;

export const DEFAULT_SETTINGS: CoverageSettings = CoverageSettingsSchema.parse({});

/** What in the settings does not fit the table (an unknown tactic, profile or technique): each a sentence saying what to fix. */
export function settingsProblems(s: CoverageSettings, table: AttackTable): string[] {
  const tactics = new Set(table.tactics.map((t) => t.shortname));
  const ids = new Set(table.techniques.map((t) => t.id));
  const platforms = new Set(table.techniques.flatMap((t) => t.platforms));
  const out: string[] = [];
  const tacticList = [...tactics].join(', ');
  for (const t of s.scope.tactics ?? []) if (!tactics.has(t)) out.push(`scope.tactics: unknown tactic '${t}'; use one of ${tacticList}`);
  for (const t of Object.keys(s.staleAfterDays.tactics))
    if (!tactics.has(t)) out.push(`staleAfterDays.tactics: unknown tactic '${t}'; use one of ${tacticList}`);
  for (const p of s.scope.platforms ?? [])
    if (!platforms.has(p)) out.push(`scope.platforms: unknown platform '${p}'; use one of ${[...platforms].sort().join(', ')}`);
  for (const p of s.scope.profiles ?? []) if (!(p in s.profiles)) out.push(`scope.profiles: no profile '${p}' in profiles`);
  const techs = [
    ...(s.scope.techniques ?? []).map((t) => ['scope.techniques', t] as const),
    ...Object.entries(s.profiles).flatMap(([n, l]) => l.map((t) => [`profiles.${n}`, t] as const)),
    ...Object.keys(s.staleAfterDays.techniques).map((t) => ['staleAfterDays.techniques', t] as const),
  ];
  for (const [where, t] of techs)
    if (!ids.has(t)) out.push(`${where}: ${t} is not a technique of ATT&CK v${table.version} (or it is deprecated or revoked)`);
  return out;
}

/**
 * The techniques in scope. With nothing declared, the whole matrix. Otherwise those that pass the
 * filters (on one of the platforms, when given, and under one of the tactics, when given),
 * plus the explicit list and the profiles' techniques. With only a list or profiles (no
 * filter), just those.
 */
export function techniquesInScope(s: CoverageSettings, table: AttackTable): Set<string> {
  const { platforms, tactics, techniques, profiles } = s.scope;
  const filtered = platforms !== undefined || tactics !== undefined;
  const listed = techniques !== undefined || profiles !== undefined;
  if (!filtered && !listed) return new Set(table.techniques.map((t) => t.id));
  const out = new Set<string>();
  if (filtered) {
    const ps = platforms ? new Set(platforms) : undefined;
    const ts = tactics ? new Set(tactics) : undefined;
    for (const t of table.techniques)
      if ((!ps || t.platforms.some((p) => ps.has(p))) && (!ts || t.tactics.some((x) => ts.has(x)))) out.add(t.id);
  }
  for (const t of techniques ?? []) out.add(t);
  for (const p of profiles ?? []) for (const t of s.profiles[p] ?? []) out.add(t);
  return out;
}

/**
 * How many days a technique's evidence stays fresh: its own setting, else the shortest of the
 * ages of the tags of the experiment whose run is its evidence, else the shortest of its
 * tactics', else the default.
 */
export function staleAfterDaysFor(s: CoverageSettings, t: Pick<AttackTechnique, 'id' | 'tactics'>, tags: readonly string[] = []): number {
  const own = Object.hasOwn(s.staleAfterDays.techniques, t.id) ? s.staleAfterDays.techniques[t.id] : undefined;
  if (own !== undefined) return own;
  const byTag = tags.flatMap((x) => (Object.hasOwn(s.staleAfterDays.tags, x) ? [s.staleAfterDays.tags[x]!] : []));
  if (byTag.length > 0) return Math.min(...byTag);
  const byTactic = t.tactics.flatMap((x) => {
    const d = s.staleAfterDays.tactics[x];
    return d === undefined ? [] : [d];
  });
  return byTactic.length > 0 ? Math.min(...byTactic) : s.staleAfterDays.default;
}
