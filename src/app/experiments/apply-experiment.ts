/**
 * Applying an experiment file to the server: parse it (errors with line and column), name it,
 * check what it may do on this host, and store it as the name's next version together with its
 * ledger entry, in one transaction. Applying never runs anything: not a probe, not a process.
 *
 * The ledger entry holds the name, the version, the SHA-256 of the file and what the list shows
 * (title, techniques, schedule) — never the file, which may hold inline secrets.
 */
import { createHash } from 'node:crypto';
import { DomainError, invalid, notFound } from '../../core/errors.ts';
import type { SecretValues } from '../../core/experiments/configuration.ts';
import { redactSecrets } from '../../core/experiments/configuration.ts';
import { parseExperiment, unsupportedActivities } from '../../core/experiments/experiment-file.ts';
import type { Experiment } from '../../core/experiments/types.ts';
import type { ExperimentRecord } from '../../store/experiments/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { privilegedUses, serverPolicyViolations, type ServerPolicy } from './server-policy.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';

export const EXPERIMENT_NAME = /^[a-z0-9-]{1,64}$/;

export interface ApplyInput {
  /** The experiment file, YAML or JSON text. */
  file: string;
  /** `[a-z0-9-]{1,64}`; a slug of the title when absent. */
  name?: string;
}

export interface ApplyOptions {
  /** Whether the caller holds `experiments:privileged` (needed for process and file providers). */
  mayPrivileged: boolean;
  policy: ServerPolicy;
}

export interface ApplyResult {
  experiment: ExperimentRecord;
  /** True when the name was new. */
  created: boolean;
  /** False when the same file was applied again under the same name: nothing was written. */
  changed: boolean;
}

/** A name from a title: lower-case ASCII letters and digits joined by dashes, at most 64 characters. */
export function slugOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug === '' ? 'experiment' : slug;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Parse an applied file again (it parsed when applied); a failure here means the parser or its
 * bounds changed. The file is stored as applied, and every read parses it with the same bounded
 * parse as the apply did (INPUT_LIMITS.yaml), so reading it can never cost more than applying it.
 */
export function parseApplied(record: Pick<ExperimentRecord, 'name' | 'file'>): Experiment {
  const parsed = parseExperiment(record.file);
  if (!parsed.ok) {
    throw invalid(
      `experiment '${record.name}' no longer parses: ${parsed.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('; ')}; apply it again`,
      parsed.errors,
    );
  }
  return parsed.experiment;
}

/** Refuse what the caller or the server does not allow; nothing has been written. */
export function checkPrivileged(exp: Experiment, opts: ApplyOptions, doing: 'apply' | 'run'): void {
  const uses = privilegedUses(exp);
  if (uses.length === 0) return;
  if (!opts.mayPrivileged) {
    const list = uses.map((u) => `${u.where} '${u.activity}' (${u.provider})`).join(', ');
    throw new DomainError(
      'forbidden',
      `the experiment acts on the server's own host through process or file providers (${list}); to ${doing} it the token needs the permission experiments:privileged`,
      { permission: 'experiments:privileged', activities: uses },
    );
  }
  const refused = serverPolicyViolations(exp, opts.policy);
  if (refused.length > 0) throw new DomainError('forbidden', `refused on this server: ${refused.join('; ')}`, { refused });
}

export async function applyExperiment(deps: AppDeps, actor: Actor, input: ApplyInput, opts: ApplyOptions): Promise<ApplyResult> {
  const parsed = parseExperiment(input.file);
  if (!parsed.ok) {
    const first = parsed.errors[0]!;
    throw invalid(
      `the experiment file has ${parsed.errors.length === 1 ? 'an error' : `${parsed.errors.length} errors`}; the first, at line ${first.line}, column ${first.column}: ${first.message}`,
      parsed.errors,
    );
  }
  const exp = parsed.experiment;
  const unsupported = unsupportedActivities(exp);
  if (unsupported.length > 0) {
    throw invalid(`the experiment cannot run here: ${unsupported.map((u) => `${u.path}: ${u.message}`).join('; ')}`, unsupported);
  }
  const name = input.name ?? slugOf(exp.title);
  if (!EXPERIMENT_NAME.test(name)) throw invalid(`name '${name}' must be 1–64 characters of a-z, 0-9 and "-"`);
  checkPrivileged(exp, opts, 'apply');

  const sha = sha256Hex(input.file);
  const now = iso(deps.clock);
  const schedule = exp.schedule ? { cron: exp.schedule.cron, jitterMs: exp.schedule.jitterMs } : null;
  return deps.store.transaction(async (tx) => {
    const existing = await tx.experiments.get(name);
    if (existing && existing.fileSha256 === sha) return { experiment: existing, created: false, changed: false };
    const stored = await tx.experiments.put(
      {
        name,
        title: exp.title,
        description: exp.description,
        techniques: exp.techniques,
        file: input.file,
        fileSha256: sha,
        schedule,
        privileged: privilegedUses(exp).length > 0,
        appliedBy: actorLabel(actor),
      },
      now,
    );
    await tx.ledger.append(
      [
        {
          actor,
          kind: 'experiment.applied',
          subject: `experiment:${name}`,
          data: {
            name,
            version: stored.version,
            sha256: sha,
            title: exp.title,
            techniques: exp.techniques,
            schedule: schedule ? { cron: schedule.cron, jitterMs: schedule.jitterMs } : null,
            privileged: stored.privileged,
          },
        },
      ],
      now,
    );
    return { experiment: stored, created: existing === undefined, changed: true };
  });
}

export async function getExperiment(deps: Pick<AppDeps, 'store'>, name: string): Promise<ExperimentRecord> {
  const e = await deps.store.experiments.get(name);
  if (!e) throw notFound(`no experiment '${name}'; apply one with POST /v1/experiments (bulwark experiments apply FILE)`);
  return e;
}

/**
 * The file as applied, with the values of its inline secrets replaced: readers of experiments are
 * not readers of secrets. A file that no longer parses (applied under looser bounds, say) is
 * refused rather than shown: its secrets could not be found to replace them.
 */
export function fileWithoutSecrets(record: Pick<ExperimentRecord, 'name' | 'file'>): string {
  const experiment = parseApplied(record);
  const inline: SecretValues = {};
  for (const [scope, keys] of Object.entries(experiment.secrets)) {
    for (const [key, entry] of Object.entries(keys)) if (entry.kind === 'inline') (inline[scope] ??= {})[key] = entry.value;
  }
  return redactSecrets(record.file, inline) as string;
}
