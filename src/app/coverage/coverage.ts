/**
 * Coverage's use cases: the map from the runs and experiments in the store (through their ports:
 * a run's journal names the techniques it ran with; for a run without them, its experiment's),
 * and the settings document, stored with its ledger entry in one transaction.
 */
import { ATTACK, type AttackTable } from '../../core/coverage/attack.ts';
import {
  CoverageAccumulator,
  evidenceOf,
  UNNAMED_CONTROL,
  type CoverageMap,
  type CoverageRun,
  type RunControl,
} from '../../core/coverage/map.ts';
import { CoverageSettingsSchema, DEFAULT_SETTINGS, settingsProblems, type CoverageSettings } from '../../core/coverage/settings.ts';
import { invalid } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import type { Json } from '../../core/ledger/entry.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import type { AppDeps } from '../deps.ts';
import { externalCoverageRun } from './attire.ts';

export interface StoredSettings {
  settings: CoverageSettings;
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** The stored settings, or the defaults (version 0) when none were stored. */
export async function getCoverageSettings(deps: Pick<AppDeps, 'store'>): Promise<StoredSettings> {
  const r = await deps.store.coverageSettings.get();
  if (!r) return { settings: DEFAULT_SETTINGS, version: 0, updatedAt: null, updatedBy: null };
  const parsed = CoverageSettingsSchema.safeParse(r.settings);
  // Stored by this code, so it parses; if a later release narrows the schema, the defaults apply rather than a 500.
  return { settings: parsed.success ? parsed.data : DEFAULT_SETTINGS, version: r.version, updatedAt: r.updatedAt, updatedBy: r.updatedBy };
}

/** Store new settings: checked against the schema and the ATT&CK table, with a `coverage.settings-set` entry in the same transaction. */
export async function setCoverageSettings(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  actor: Actor,
  input: unknown,
  table: AttackTable = ATTACK,
): Promise<StoredSettings> {
  const parsed = CoverageSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`);
    throw invalid(`the coverage settings are not valid: ${issues.join('; ')}`, issues);
  }
  const problems = settingsProblems(parsed.data, table);
  if (problems.length > 0) throw invalid(`the coverage settings do not fit ATT&CK v${table.version}: ${problems.join('; ')}`, problems);
  const now = deps.clock.now().toISOString();
  const settings = parsed.data;
  return deps.store.transaction(async (tx) => {
    const r = await tx.coverageSettings.put(settings, actorLabel(actor), now);
    await tx.ledger.append(
      [{ actor, kind: 'coverage.settings-set', subject: 'coverage:settings', data: { version: r.version, settings } }],
      now,
    );
    return { settings, version: r.version, updatedAt: r.updatedAt, updatedBy: r.updatedBy };
  });
}

const PAGE = 500;

/** The techniques a run ran with, from its journal (`bulwark.techniques`), when it names them. */
export function journalTechniques(journal: Json): string[] | undefined {
  if (journal === null || typeof journal !== 'object' || Array.isArray(journal)) return undefined;
  const b = journal.bulwark;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return undefined;
  const t = b.techniques;
  return Array.isArray(t) && t.every((x) => typeof x === 'string') ? t : undefined;
}

/** Every finished, counted run as coverage reads it, oldest pages last (the order does not matter to the map), and the imported ones. */
export async function coverageRuns(deps: Pick<AppDeps, 'store'>): Promise<CoverageRun[]> {
  // Runs record the experiment's title; the experiments give its name and techniques.
  const byTitle = new Map<string, { name: string; techniques: string[] }>();
  for (const e of await deps.store.experiments.list()) if (!byTitle.has(e.title)) byTitle.set(e.title, e);
  const out: CoverageRun[] = [];
  let cursor: { startedAt: string; id: string } | undefined;
  for (;;) {
    const page = await deps.store.runs.list({ limit: PAGE, state: 'done', ...(cursor ? { cursor } : {}) });
    for (const r of page.runs) {
      const c = toCoverageRun(r, byTitle.get(r.experiment));
      if (c) out.push(c);
    }
    if (!page.next) break;
    cursor = page.next;
  }
  // Runs other tools executed, imported from their logs (app/coverage/attire.ts).
  for (const r of await deps.store.coverageExternalRuns.list()) out.push(externalCoverageRun(r));
  return out;
}

const RESULT_VALUES: readonly string[] = ['blocked', 'alerted', 'logged', 'none'];
const msOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The per-control results a run recorded (`bulwark.controls`), read tolerantly: undefined for a
 * run from before they were recorded or a journal that does not hold them; malformed entries left out.
 */
export function journalControls(journal: Json): RunControl[] | undefined {
  if (journal === null || typeof journal !== 'object' || Array.isArray(journal)) return undefined;
  const b = journal.bulwark;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return undefined;
  const list = b.controls;
  if (!Array.isArray(list)) return undefined;
  const out: RunControl[] = [];
  for (const c of list) {
    if (c === null || typeof c !== 'object' || Array.isArray(c)) continue;
    if (typeof c.control !== 'string' || c.control === '' || !Array.isArray(c.results)) continue;
    const results = c.results.filter((x): x is string => typeof x === 'string' && RESULT_VALUES.includes(x));
    out.push({ control: c.control, results, alertedTtdMs: msOrNull(c.alertedTtdMs), loggedTtdMs: msOrNull(c.loggedTtdMs) });
  }
  return out.length ? out : undefined;
}

/** The experiment's tags when the run ran: the journal keeps the file (Chaos Toolkit's `experiment`). */
export function journalTags(journal: Json): string[] | undefined {
  if (journal === null || typeof journal !== 'object' || Array.isArray(journal)) return undefined;
  const e = journal.experiment;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return undefined;
  const t = e.tags;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string').slice(0, 100) : undefined;
}

export function toCoverageRun(r: RunRecord, exp: { name: string; techniques: string[] } | undefined): CoverageRun | undefined {
  if (r.dryRun || r.state !== 'done' || r.endedAt === null || evidenceOf(r.outcome) === null) return undefined;
  const techniques = journalTechniques(r.journal) ?? exp?.techniques ?? [];
  const controls = journalControls(r.journal);
  const tags = journalTags(r.journal);
  return {
    id: r.id,
    experiment: exp?.name ?? r.experiment,
    techniques,
    outcome: r.outcome,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    ttdMs: r.ttdMs,
    ...(controls ? { controls } : {}),
    ...(tags && tags.length ? { tags } : {}),
  };
}

/**
 * A run as one control saw it: only that control's result (a run without per-control results is
 * the control `default`); undefined when the run did not test it.
 */
export function forControl(run: CoverageRun, control: string): CoverageRun | undefined {
  if (!run.controls || run.controls.length === 0) return control === UNNAMED_CONTROL ? run : undefined;
  const c = run.controls.find((x) => x.control === control);
  if (!c) return undefined;
  const ttd = c.alertedTtdMs ?? c.loggedTtdMs ?? null;
  return { ...run, controls: [c], ttdMs: ttd };
}

/** The coverage map now, over every run in the store, with the stored settings (or those given). */
export async function coverageMap(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  opts: { settings?: CoverageSettings; table?: AttackTable; control?: string } = {},
): Promise<CoverageMap> {
  const settings = opts.settings ?? (await getCoverageSettings(deps)).settings;
  const acc = new CoverageAccumulator(opts.table ?? ATTACK, settings);
  for (const r of await coverageRuns(deps)) {
    const run = opts.control === undefined ? r : forControl(r, opts.control);
    if (run) acc.apply(run);
  }
  return acc.map(deps.clock.now());
}
