/**
 * Everything decided before a run touches anything: configuration and secrets resolved, python
 * activities refused, the blast radius and the local allow-lists checked (anything outside is
 * refused and nothing is sent), a backup assigned to every file the method changes, the
 * rollbacks fixed (those automatic restores first, then the file's own), the injections named,
 * the targets for the concurrency limit, and the plan a dry run prints.
 *
 * The configuration value `bulwark_run_id` is set to the run id, so that canary values written
 * `bwk-canary-${bulwark_run_id}` name the run that plants them.
 *
 * Injections are the method's actions (faults and attacks are actions in Chaos Toolkit's
 * vocabulary; probes observe; a method with no action at all injects through its probes), and of
 * those the requests: http actions when there are any, else process and tcp actions, else file
 * changes (a misconfiguration experiment). The others prepare the ground. Time to detect runs
 * from the first injection, and `expect.blocked` is judged over every injection's result.
 */
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { blastRadiusViolations, effectiveBlastRadius, type BlastRadius } from '../../../core/experiments/blast-radius.ts';
import { redactSecrets, resolveConfiguration, type SecretValues } from '../../../core/experiments/configuration.ts';
import { formatDuration } from '../../../core/experiments/duration.ts';
import { describeProcessRefusal, type ExecutableEntry, pathOf } from '../../../core/experiments/process-policy.ts';
import { unsupportedActivities } from '../../../core/experiments/experiment-file.ts';
import type { Activity, Experiment, Provider, Step, Tolerance } from '../../../core/experiments/types.ts';
import { providerType, type AnyProviderType } from '../../../core/experiments/providers/index.ts';
import { RUN_HEADER, USER_AGENT_MARKER } from '../../../core/signals/correlation.ts';
import { invalid } from '../../../core/errors.ts';
import { RUN_ID_KEY } from '../../../core/experiments/techniques/technique.ts';

/** Local allow-lists: on a server, what an experiment may run and write (absent: anything). */
export interface LocalPolicy {
  /**
   * Executables a process provider may start (exact paths, or rules with the environment
   * variables and arguments allowed); shells only when `/bin/sh` is listed.
   */
  executables?: readonly ExecutableEntry[];
  /** Path prefixes a file provider may change. */
  paths?: readonly string[];
}

export interface PrepareInput {
  experiment: Experiment;
  runId: string;
  env: Record<string, string | undefined>;
  vars?: Record<string, string>;
  /** Values of the sealed secrets the file names, opened by the caller (openSealedSecrets). */
  sealed?: Readonly<Record<string, string>>;
  allowHosts?: readonly string[];
  /** Where automatic file backups go: `<stateDir>/backups/<runId>/`. */
  stateDir: string;
  policy?: LocalPolicy;
}

export interface PreparedRun {
  /** Resolved, with a backup on every file change of the method. */
  experiment: Experiment;
  secrets: SecretValues;
  radius: BlastRadius;
  /** What runs at the end, always: automatic restores (newest change first), then the file's rollbacks. */
  rollbacks: Activity[];
  /** The method activities that count as injections. */
  injections: ReadonlySet<Activity>;
  /** Concurrency-limit keys: `host:NAME` and `file:PATH`. */
  targets: string[];
  /** What a dry run prints, secrets redacted. */
  plan: string[];
  warnings: string[];
}

const activityOf = (s: Step): Activity => ('ref' in s ? s.activity : s);

/** Prepare a run, or throw `invalid` saying what is refused and why; nothing has been sent. */
export function prepareRun(input: PrepareInput): PreparedRun {
  const unsupported = unsupportedActivities(input.experiment);
  if (unsupported.length > 0) {
    throw invalid(`the experiment cannot run: ${unsupported.map((u) => `${u.path}: ${u.message}`).join('; ')}`, unsupported);
  }
  // `${bulwark_run_id}` is always this run's id, whatever the file or --var say: a canary must
  // name the run that planted it.
  const resolved = resolveConfiguration(
    input.experiment,
    input.env,
    { ...(input.vars ?? {}), [RUN_ID_KEY]: input.runId },
    input.sealed ?? {},
  );
  if (!resolved.ok) {
    throw invalid(
      `the experiment cannot run: ${resolved.errors.map((e) => `${e.path || '(file)'}: ${e.message}`).join('; ')}`,
      resolved.errors,
    );
  }
  const { secrets } = resolved.value;
  const exp0 = resolved.value.experiment;
  const radius = effectiveBlastRadius(exp0, input.allowHosts ?? []);
  const violations = blastRadiusViolations(exp0, radius);
  if (violations.length > 0) {
    const details = violations.map((v) => redactSecrets(v, secrets) as { path: string; message: string });
    throw invalid(`refused before anything was sent: ${details.map((v) => `${v.path}: ${v.message}`).join('; ')}`, details);
  }
  // Checked on the resolved file: a value or argument from `--var` or configuration is judged
  // as it will be used. Messages may quote arguments, which may hold secrets.
  const policyProblems = redactSecrets(policyViolations(exp0, input.policy), secrets) as string[];
  if (policyProblems.length > 0) throw invalid(`refused before anything was sent: ${policyProblems.join('; ')}`, policyProblems);

  // Backups for the method's file changes, assigned once per activity (a ref runs the same one).
  const backupDir = path.join(input.stateDir, 'backups', input.runId);
  const assigned = new Map<Activity, Activity>();
  const changes: { path: string; backup: string; type: AnyProviderType }[] = [];
  let n = 0;
  const withBackup = (a: Activity): Activity => {
    const prior = assigned.get(a);
    if (prior) return prior;
    let out = a;
    const p = a.provider;
    const type = providerType(p);
    const change = type.backups?.change(p);
    if (type.backups && change) {
      const backup = change.backup ?? path.join(backupDir, `${++n}-${path.basename(change.path)}`);
      out = { ...a, provider: type.backups.withBackup(p, backup) };
      changes.push({ path: path.resolve(change.path), backup: path.resolve(backup), type });
    }
    assigned.set(a, out);
    return out;
  };
  const method: Step[] = exp0.method.map((s) => ('ref' in s ? { ref: s.ref, activity: withBackup(s.activity) } : withBackup(s)));
  const experiment: Experiment = { ...exp0, method };

  const declared = experiment.rollbacks.map(activityOf);
  const restores = new Set(
    declared.flatMap((a) => {
      const r = providerType(a.provider).backups?.restores(a.provider);
      return r ? [`${path.resolve(r.path)}\u0000${path.resolve(r.backup)}`] : [];
    }),
  );
  const seenChange = new Set<string>();
  const automatic: Activity[] = [];
  for (const c of [...changes].reverse()) {
    const key = `${c.path}\u0000${c.backup}`;
    if (restores.has(key) || seenChange.has(key)) continue;
    seenChange.add(key);
    automatic.push({
      type: 'action',
      name: `restore ${c.path}`,
      provider: c.type.backups!.restore(c.path, c.backup),
      pauses: {},
      background: false,
      controls: [],
    });
  }
  const rollbacks = [...automatic, ...declared];

  const methodActivities = method.map(activityOf);
  const actions = methodActivities.filter((a) => a.type === 'action');
  const pool = actions.length > 0 ? actions : methodActivities;
  const best = Math.min(...pool.map(injectionTier));
  const injections = new Set(pool.filter((a) => injectionTier(a) === best));

  const targets = new Set<string>();
  const addTarget = (a: Activity) => {
    const { hosts, files } = providerType(a.provider).limitTargets(a.provider);
    for (const h of hosts) targets.add(`host:${h.toLowerCase()}`);
    for (const f of files) targets.add(`file:${path.resolve(f)}`);
    if (a.tolerance?.kind === 'probe') addTarget(a.tolerance.probe);
  };
  experiment.steadyStateHypothesis?.probes.forEach(addTarget);
  methodActivities.forEach(addTarget);
  rollbacks.forEach(addTarget);
  experiment.safety?.abort.forEach((a) => addTarget(a.probe));

  const warnings: string[] = [];
  const maxMs = experiment.safety?.maxDurationMs;
  for (const d of experiment.expect?.detected ?? []) {
    if (maxMs !== undefined && d.withinMs >= maxMs) {
      warnings.push(
        `detection '${d.name}' has a deadline (${formatDuration(d.withinMs)}) not shorter than safety.maxDuration (${formatDuration(maxMs)}): the run will be aborted before it can be missed`,
      );
    }
  }
  if ((experiment.expect?.detected.length ?? 0) > 0 && injections.size === 0)
    warnings.push('detections are expected but the method injects nothing');

  const plan = redactSecrets(describePlan(experiment, input.runId, radius, rollbacks, automatic.length, injections), secrets) as string[];
  return { experiment, secrets, radius, rollbacks, injections, targets: [...targets].sort(), plan, warnings };
}

/** Requests first: when a method sends http requests, its other actions are preparation. */
function injectionTier(a: Activity): number {
  return providerType(a.provider).injectionTier;
}

/**
 * The absolute path with every symbolic link of its existing part followed: the deepest
 * existing ancestor (the path itself when it exists) resolved by the file system, and the
 * part that does not exist yet appended as written.
 */
export function realPathOf(file: string): string {
  const abs = path.resolve(file);
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return path.join(realpathSync(at), ...rest);
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return abs;
      rest.unshift(path.basename(at));
      at = parent;
    }
  }
}

function policyViolations(exp: Experiment, policy: LocalPolicy | undefined): string[] {
  if (!policy || (policy.executables === undefined && policy.paths === undefined)) return [];
  const out: string[] = [];
  const seen = new Set<Activity>();
  const visit = (a: Activity) => {
    if (seen.has(a)) return;
    seen.add(a);
    const p = a.provider;
    const type = providerType(p);
    if (type.executableRefusals && policy.executables !== undefined) {
      const entries = policy.executables;
      for (const r of type.executableRefusals(p, entries)) {
        out.push(
          r.kind === 'executable'
            ? `activity '${a.name}' runs ${r.executable}, which is not on this server's executable allow-list (${entries.map(pathOf).join(', ') || 'empty'}); add it to experiments.allowExecutables in the server's config and restart`
            : `activity '${a.name}' ${describeProcessRefusal(r, entries)}`,
        );
      }
    }
    if (type.files && policy.paths !== undefined) {
      // Compared as the file system resolves them: a symbolic link under an allowed directory
      // (to a directory or to the file itself) must not lead a change outside it.
      const allowed = policy.paths.map(realPathOf);
      for (const f of type.files(p)) {
        const abs = path.resolve(f);
        const real = realPathOf(abs);
        if (!allowed.some((prefix) => real === prefix || real.startsWith(prefix + path.sep))) {
          out.push(
            `activity '${a.name}' changes ${abs}${real !== abs ? ` (${real} once its links are followed)` : ''}, which is not under this server's file allow-list (${policy.paths.join(', ') || 'empty'})`,
          );
        }
      }
    }
    if (a.tolerance?.kind === 'probe') visit(a.tolerance.probe);
  };
  exp.steadyStateHypothesis?.probes.forEach(visit);
  exp.method.forEach((s) => visit(activityOf(s)));
  exp.rollbacks.forEach((s) => visit(activityOf(s)));
  exp.safety?.abort.forEach((a) => visit(a.probe));
  return out;
}

/** One line about what a provider does. */
export function describeProvider(p: Provider): string {
  return providerType(p).describe(p);
}

export function describeTolerance(t: Tolerance): string {
  switch (t.kind) {
    case 'bool':
    case 'int':
    case 'string':
      return JSON.stringify(t.value);
    case 'list':
      return JSON.stringify(t.values);
    case 'range':
      return `range [${t.min}, ${t.max}]${t.target ? ` of ${t.target}` : ''}`;
    case 'regex':
      return `regex /${t.pattern}/${t.target ? ` on ${t.target}` : ''}`;
    case 'jsonpath':
      return `jsonpath ${t.path}${t.expect ? ` = ${JSON.stringify(t.expect)}` : ''}${t.count !== undefined ? ` count ${t.count}` : ''}`;
    case 'probe':
      return `probe '${t.probe.name}'`;
  }
}

function describePlan(
  exp: Experiment,
  runId: string,
  radius: BlastRadius,
  rollbacks: Activity[],
  automatic: number,
  injections: ReadonlySet<Activity>,
): string[] {
  const lines: string[] = [];
  const act = (a: Activity, prefix: string) => {
    const extra = [
      injections.has(a) ? 'injection' : '',
      a.background ? 'in the background' : '',
      a.pauses.beforeMs ? `pause ${formatDuration(a.pauses.beforeMs)} before` : '',
      a.pauses.afterMs ? `pause ${formatDuration(a.pauses.afterMs)} after` : '',
      a.tolerance ? `tolerance ${describeTolerance(a.tolerance)}` : '',
    ].filter(Boolean);
    lines.push(`${prefix}${a.type} '${a.name}': ${describeProvider(a.provider)}${extra.length ? ` [${extra.join(', ')}]` : ''}`);
  };
  lines.push(`experiment: ${exp.title}`);
  lines.push(`run id: ${runId} (sent as ${RUN_HEADER}: ${runId} and user agent token ${USER_AGENT_MARKER}${runId})`);
  lines.push(`blast radius: hosts ${radius.hosts.join(', ')}${radius.paths.length ? `; paths ${radius.paths.join(', ')}` : ''}`);
  if (exp.techniques.length) lines.push(`techniques: ${exp.techniques.join(', ')}`);
  const hyp = exp.steadyStateHypothesis;
  if (hyp) {
    lines.push(`steady state '${hyp.title}' (before the method, as a gate, and after it):`);
    hyp.probes.forEach((a, i) => act(a, `  ${i + 1}. `));
  }
  lines.push('method:');
  exp.method.forEach((s, i) => act(activityOf(s), `  ${i + 1}. `));
  const e = exp.expect;
  if (e?.blocked) {
    lines.push(
      `expect blocked: every injection's result meets ${describeTolerance(e.blocked.tolerance)}${e.blocked.withinMs !== undefined ? ` within ${formatDuration(e.blocked.withinMs)}` : ''}`,
    );
  }
  for (const d of e?.detected ?? []) lines.push(`expect detected '${d.name}': ${d.when} within ${formatDuration(d.withinMs)}`);
  const s = exp.safety;
  for (const a of s?.abort ?? []) lines.push(`abort when probe '${a.probe.name}' fails, checked every ${formatDuration(a.everyMs)}`);
  if (s?.maxDurationMs !== undefined) lines.push(`abort after ${formatDuration(s.maxDurationMs)}`);
  lines.push('rollbacks (always run):');
  rollbacks.forEach((a, i) => act(a, `  ${i + 1}. ${i < automatic ? '(automatic) ' : ''}`));
  if (rollbacks.length === 0) lines.push('  (none)');
  return lines;
}
