/**
 * Applying playbook files: parse (errors with line and column), store as the name's next version
 * (every version kept) and append `playbook.applied` with the file's digest, in one transaction.
 * The same file applied again writes nothing. Models are parsed once per file digest.
 */
import { createHash } from 'node:crypto';
import { conflict, DomainError, invalid, notFound } from '../../core/errors.ts';
import { actorLabel, type Actor } from '../../core/ledger/actor.ts';
import { modeIsChoice, parsePlaybookFile } from '../../core/playbooks/playbook-file.ts';
import { isSecretRef, type Playbook, type Step } from '../../core/playbooks/types.ts';
import type { Template } from '../../core/playbooks/expressions.ts';
import { describeProcessRefusal, processRefusals, type ExecutableEntry } from '../../core/experiments/process-policy.ts';
import type { PlaybookRecord } from '../../store/playbooks/port.ts';
import type { Repos } from '../../store/store.ts';
import { iso, type AppDeps } from '../deps.ts';

export const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The playbook in a file, or an `invalid` error naming each line and path to fix. */
export function playbookOf(file: string): Playbook {
  const r = parsePlaybookFile(file);
  if (!r.ok) {
    const first = r.errors[0]!;
    throw invalid(
      `the playbook file has ${r.errors.length === 1 ? 'an error' : `${r.errors.length} errors`}; the first, at line ${first.line}, column ${first.column}${first.path ? ` (${first.path})` : ''}: ${first.message}`,
      r.errors,
    );
  }
  return r.playbook;
}

const cache = new Map<string, Playbook>();

/** The model of a stored file (parsed when it was applied); cached by digest. */
export function modelOf(file: string, sha: string): Playbook {
  let m = cache.get(sha);
  if (!m) {
    m = playbookOf(file);
    if (cache.size > 500) cache.clear();
    cache.set(sha, m);
  }
  return m;
}

/** The model a run runs: its version's file. */
export async function versionModel(repos: Pick<Repos, 'playbooks'>, name: string, version: number): Promise<Playbook> {
  const v = await repos.playbooks.getVersion(name, version);
  if (!v) throw notFound(`playbook ${name} has no version ${version}`);
  return modelOf(v.file, v.fileSha256);
}

export interface ApplyResult {
  playbook: PlaybookRecord;
  model: Playbook;
  created: boolean;
  changed: boolean;
}

/** Store the file as the next version in `tx`, with its ledger entry (also used by promotion). */
export async function putVersion(tx: Repos, actor: Actor, file: string, model: Playbook, now: string): Promise<PlaybookRecord> {
  const sha = sha256Hex(file);
  const stored = await tx.playbooks.putVersion(
    { name: model.name, title: model.title, file, fileSha256: sha, appliedBy: actorLabel(actor), appliedById: actor.id },
    now,
  );
  await tx.ledger.append(
    [
      {
        actor,
        kind: 'playbook.applied',
        subject: `playbook:${model.name}`,
        data: {
          name: model.name,
          version: stored.version,
          sha256: sha,
          steps: model.steps.length,
          modes: Object.fromEntries(model.steps.map((s) => [s.id, s.mode])),
        },
      },
    ],
    now,
  );
  return stored;
}

/**
 * Every step whose mode is a choice (the kind's mode rules say so: `http`, `notify`, `forEach`,
 * `parallel`, and any kind added later that is not fixed), keyed by id: the steps inside `if`
 * and `switch` branches (flattened into the model's steps) and the body of a `forEach` or the
 * branches of a `parallel` (`STEP/BODY`), which run in their wrapper's mode.
 */
function choosingSteps(model: Playbook): Map<string, Step> {
  const out = new Map<string, Step>();
  const add = (key: string, s: Step): void => {
    if (modeIsChoice(s.kind)) out.set(key, s);
    if (s.forEach) add(`${key}/${s.forEach.body.id}`, s.forEach.body);
    for (const b of s.parallel ?? []) add(`${key}/${b.id}`, b);
  };
  for (const s of model.steps) add(s.id, s);
  return out;
}

/**
 * The two-person rule on apply: a step (same id) whose mode is a choice and that was manual or
 * assisted in the current version may not become `auto` by applying a file; that is a promotion.
 * A step new in this version may be declared `auto` only by someone who may approve promotions.
 * The first version of a playbook is not checked: nothing was done by hand yet.
 */
export function autoChangesRefused(current: Playbook, next: Playbook, mayApprove: boolean): DomainError | undefined {
  const before = choosingSteps(current);
  const beforeAny = new Set(current.steps.map((s) => s.id));
  for (const [key, s] of choosingSteps(next)) {
    if (s.mode !== 'auto') continue;
    const was = before.get(key);
    const top = key.split('/')[0]!;
    if (was && was.mode !== 'auto')
      return conflict(
        `step ${key} of ${current.name} is ${was.mode} in the current version and this file makes it auto; a step becomes ` +
          `automatic only by promotion, approved by a second person: bulwark playbooks promote ${current.name} ${top}`,
      );
    // A step whose kind had a fixed mode (a `set`) and now has a choice declared auto is new automatic work too.
    if (!was && !mayApprove)
      return new DomainError(
        'forbidden',
        `step ${key} is new${beforeAny.has(top) ? ' as a step whose mode is a choice' : ''} and declared auto; only someone with playbooks:approve may add an automatic step. ` +
          `Declare it manual or assisted, and promote it later: bulwark playbooks promote ${current.name} ${top}`,
      );
  }
  return undefined;
}

export interface ApplyOptions {
  /** Whether the actor may approve promotions (playbooks:approve): needed to add a new automatic step. */
  mayApprove?: boolean;
  /** Whether the actor holds experiments:privileged: needed for `process` steps, as for an experiment's process. */
  mayPrivileged?: boolean;
  /** The server's allow-list (`experiments.allowExecutables`): `process` steps are judged by it at apply too. */
  allowExecutables?: readonly ExecutableEntry[];
  /** Whether the actor holds incidents:write: needed for `incident` and `case` steps. */
  mayWriteIncidents?: boolean;
  /**
   * Whether the actor may run the named experiment (experiments:run, or a conditional custom role
   * whose condition holds on that experiment): true, or why not. Absent: `run-experiment` steps are refused.
   */
  mayRunExperiment?: (name: string) => Promise<true | string>;
}

/** Every step, with the body of a `forEach` and the branches of a `parallel`. */
function everyStep(model: Playbook): Step[] {
  const out: Step[] = [];
  const add = (s: Step): void => {
    out.push(s);
    if (s.forEach) add(s.forEach.body);
    for (const b of s.parallel ?? []) add(b);
  };
  for (const s of model.steps) add(s);
  return out;
}

/** The sealed secrets a playbook names (http and notify headers, process variables), with the first step naming each. */
export function sealedSecretsOf(model: Playbook): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of everyStep(model))
    for (const v of [...Object.values(s.http?.headers ?? {}), ...Object.values(s.process?.env ?? {})])
      if (isSecretRef(v) && !out.has(v.secret)) out.set(v.secret, s.id);
  return out;
}

/**
 * The steps run as the playbook, not as a person, so applying one is where its author's
 * permissions are checked: `incident` and `case` steps need incidents:write; a `run-experiment`
 * step needs the author to be allowed to run that experiment (experiments:run, or a conditional
 * role that holds on it); a step naming a sealed secret sends its value where the playbook says
 * (its own allowHosts), so it needs experiments:privileged, as a process does.
 */
export async function stepPermissionsRefused(model: Playbook, o: ApplyOptions): Promise<DomainError | undefined> {
  const steps = everyStep(model);
  const incidents = steps.filter((s) => s.kind === 'incident' || s.kind === 'case');
  if (incidents.length > 0 && !o.mayWriteIncidents)
    return new DomainError(
      'forbidden',
      `steps ${incidents.map((s) => s.id).join(', ')} act on incidents or cases; to apply the playbook the token needs the permission incidents:write`,
      { permission: 'incidents:write' },
    );
  const secrets = sealedSecretsOf(model);
  if (secrets.size > 0 && !o.mayPrivileged)
    return new DomainError(
      'forbidden',
      `steps ${[...new Set(secrets.values())].join(', ')} name sealed secrets (${[...secrets.keys()].join(', ')}) and send them where the playbook says; to apply the playbook the token needs the permission experiments:privileged`,
      { permission: 'experiments:privileged', secrets: [...secrets.keys()] },
    );
  const experiments = new Map<string, string>();
  for (const s of steps) if (s.experiment && !experiments.has(s.experiment.name)) experiments.set(s.experiment.name, s.id);
  for (const [name, step] of experiments) {
    const ok = o.mayRunExperiment ? await o.mayRunExperiment(name) : 'the permission experiments:run is not held';
    if (ok !== true)
      return new DomainError(
        'forbidden',
        `step ${step} runs experiment ${name}; to apply the playbook the token must be allowed to run it (experiments:run): ${ok}`,
        { permission: 'experiments:run', experiment: name },
      );
  }
  return undefined;
}

/**
 * `process` steps start programs on the server's host: applying a playbook with one needs
 * experiments:privileged, and what is known before the run (an executable, variable names, fixed
 * arguments) must be allowed by the server's allow-list, as for an experiment. Values with
 * expressions are judged again when the step runs.
 */
export function processStepsRefused(model: Playbook, o: ApplyOptions): DomainError | undefined {
  const steps = model.steps.filter((s) => s.kind === 'process');
  if (steps.length === 0) return undefined;
  if (!o.mayPrivileged)
    return new DomainError(
      'forbidden',
      `steps ${steps.map((s) => s.id).join(', ')} start processes on the server's host; to apply the playbook the token needs the permission experiments:privileged`,
      { permission: 'experiments:privileged' },
    );
  const entries = o.allowExecutables ?? [];
  for (const s of steps) {
    const p = s.process!;
    // A template's source keeps its `${{ … }}`: judged when the step runs (deferTemplates).
    const fixed = (t: Template) => t.source;
    const provider = {
      path: fixed(p.path),
      arguments:
        p.arguments.kind === 'shell'
          ? { kind: 'shell' as const, line: fixed(p.arguments.line) }
          : { kind: 'argv' as const, argv: p.arguments.argv.map(fixed) },
      env: Object.fromEntries(Object.entries(p.env).map(([k, v]) => [k, 'source' in v ? fixed(v) : '${{ }}'])),
    };
    const refused = processRefusals(provider, entries, { deferTemplates: true });
    if (refused.length > 0) return invalid(`step ${s.id} ${describeProcessRefusal(refused[0]!, entries)}`, { path: s.path.join('.') });
  }
  return undefined;
}

export async function applyPlaybook(deps: AppDeps, actor: Actor, file: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const model = playbookOf(file);
  const processRefusal = processStepsRefused(model, opts);
  if (processRefusal) throw processRefusal;
  const permissionRefusal = await stepPermissionsRefused(model, opts);
  if (permissionRefusal) throw permissionRefusal;
  const sha = sha256Hex(file);
  const now = iso(deps.clock);
  return deps.store.transaction(async (tx) => {
    const existing = await tx.playbooks.get(model.name);
    if (existing && existing.fileSha256 === sha) return { playbook: existing, model, created: false, changed: false };
    // Two applies that each add a call (a → b, b → a) would each see no cycle in what the other has not
    // committed yet: applies with calls take turns, each checking what the one before committed.
    if (callsOf(model).size > 0) await tx.playbooks.lockCalls();
    const badCall = await callsRefused(tx, model);
    if (badCall) throw badCall;
    if (existing) {
      const refused = autoChangesRefused(modelOf(existing.file, existing.fileSha256), model, opts.mayApprove ?? false);
      if (refused) throw refused;
    }
    const stored = await putVersion(tx, actor, file, model, now);
    return { playbook: stored, model, created: existing === undefined, changed: true };
  });
}

/** The playbooks a playbook's `playbook` steps call, with the first step calling each. */
function callsOf(model: Playbook): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of model.steps) if (s.call && !out.has(s.call.name)) out.set(s.call.name, s.id);
  return out;
}

/**
 * A playbook may call only playbooks applied already, and never itself, directly or through
 * others: the calls of the current versions, this one's replaced by the new file's, form no cycle.
 */
async function callsRefused(tx: Repos, model: Playbook): Promise<DomainError | undefined> {
  const mine = callsOf(model);
  if (mine.size === 0) return undefined;
  const graph = new Map<string, string[]>();
  for (const rec of await tx.playbooks.list()) graph.set(rec.name, [...callsOf(modelOf(rec.file, rec.fileSha256)).keys()]);
  for (const [name, step] of mine)
    if (name !== model.name && !graph.has(name))
      return invalid(`step ${step} calls playbook ${name}, which is not applied; apply ${name} first`);
  graph.set(model.name, [...mine.keys()]);
  const path: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name)) return undefined;
    path.push(name);
    for (const next of graph.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(name);
    return undefined;
  };
  const cycle = visit(model.name);
  return cycle
    ? invalid(`playbook calls would form a cycle: ${cycle.join(' → ')}; a playbook may not call itself, even through others`)
    : undefined;
}

export async function getPlaybook(deps: Pick<AppDeps, 'store'>, name: string): Promise<PlaybookRecord> {
  const p = await deps.store.playbooks.get(name);
  if (!p) throw notFound(`no playbook '${name}'; apply one with POST /v1/playbooks (bulwark playbooks apply FILE)`);
  return p;
}
