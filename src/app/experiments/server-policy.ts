/**
 * What the server allows an applied experiment to do on its own host. `process` and `file`
 * providers act on the machine Bulwark runs on, so on a server they need the permission
 * `experiments:privileged` (to apply and to run) and may only start executables and change
 * paths listed in the server's config (`experiments.allowExecutables`, `experiments.allowPaths`,
 * empty by default). An executable is started only with the environment variables and arguments
 * its entry allows (core/experiments/process-policy.ts). The runner enforces the same lists
 * again (runner/prepare-run.ts); this check comes first so that the refusal names the config
 * key to extend, and it runs at apply time too, where nothing may run.
 */
import path from 'node:path';
import { describeProcessRefusal, type ExecutableEntry } from '../../core/experiments/process-policy.ts';
import { providerType, type ProviderTypeName } from '../../core/experiments/providers/index.ts';
import type { Activity, Experiment, Step } from '../../core/experiments/types.ts';
import { hasTemplate } from '../../core/experiments/tolerance.ts';
import { realPathOf } from './runner/prepare-run.ts';

export interface ServerPolicy {
  /**
   * The executables a process provider may start (`/bin/sh` for shell lines): exact paths, or
   * rules with the variables and arguments an experiment may give them.
   */
  allowExecutables: readonly ExecutableEntry[];
  /** Path prefixes a file provider may change (its path and its backup). */
  allowPaths: readonly string[];
}

export const EMPTY_SERVER_POLICY: ServerPolicy = Object.freeze({ allowExecutables: [], allowPaths: [] });

export interface PrivilegedUse {
  /** Where in the file, e.g. `method[1]`. */
  where: string;
  activity: string;
  /** A type whose module says it is host-bound (process, file). */
  provider: ProviderTypeName;
}

const activityOf = (s: Step): Activity => ('ref' in s ? s.activity : s);

/** Every activity of the file, with where it sits, probe tolerances and abort probes included. */
function* activities(exp: Experiment): Generator<{ where: string; activity: Activity }> {
  const seen = new Set<Activity>();
  function* visit(a: Activity, where: string): Generator<{ where: string; activity: Activity }> {
    if (seen.has(a)) return;
    seen.add(a);
    yield { where, activity: a };
    if (a.tolerance?.kind === 'probe') yield* visit(a.tolerance.probe, `${where}.tolerance`);
  }
  const hyp = exp.steadyStateHypothesis;
  for (const [i, a] of (hyp?.probes ?? []).entries()) yield* visit(a, `steady-state-hypothesis.probes[${i}]`);
  for (const [i, s] of exp.method.entries()) yield* visit(activityOf(s), `method[${i}]`);
  for (const [i, s] of exp.rollbacks.entries()) yield* visit(activityOf(s), `rollbacks[${i}]`);
  for (const [i, a] of (exp.safety?.abort ?? []).entries()) yield* visit(a.probe, `safety.abort[${i}]`);
  const blocked = exp.expect?.blocked?.tolerance;
  if (blocked?.kind === 'probe') yield* visit(blocked.probe, 'expect.blocked');
}

/** The activities that act on the server's own host (host-bound provider types: process and file). */
export function privilegedUses(exp: Experiment): PrivilegedUse[] {
  const out: PrivilegedUse[] = [];
  for (const { where, activity } of activities(exp)) {
    const p = activity.provider;
    if (providerType(p).hostBound) out.push({ where, activity: activity.name, provider: p.type });
  }
  return out;
}

/** Compared as the file system resolves them: a symbolic link must not lead outside. */
const under = (file: string, prefixes: readonly string[]) => {
  const real = realPathOf(file);
  return prefixes.map(realPathOf).some((p) => real === p || real.startsWith(p + path.sep));
};

/**
 * Why the server refuses the experiment's process and file activities, one message per refusal,
 * each naming the config key to extend. Values still holding `${…}` (resolved only when a run
 * starts) are skipped here; the runner checks them once resolved. Variable names are never
 * templated, so a variable an executable may not get is refused here already.
 */
export function serverPolicyViolations(exp: Experiment, policy: ServerPolicy): string[] {
  const out: string[] = [];
  const listed = (l: readonly string[]) => (l.length ? l.join(', ') : 'empty');
  for (const { where, activity } of activities(exp)) {
    const p = activity.provider;
    const type = providerType(p);
    if (type.executableRefusals) {
      for (const r of type.executableRefusals(p, policy.allowExecutables, { deferTemplates: true })) {
        const standalone = r.kind === 'executable' ? ', or run the file with the standalone CLI (bulwark run)' : '';
        out.push(`${where} '${activity.name}' ${describeProcessRefusal(r, policy.allowExecutables)}${standalone}`);
      }
    }
    if (type.files) {
      for (const f of type.files(p)) {
        if (hasTemplate(f)) continue;
        const abs = path.resolve(f);
        if (under(abs, policy.allowPaths)) continue;
        const real = realPathOf(abs);
        out.push(
          `${where} '${activity.name}' changes ${abs}${real !== abs ? ` (${real} once its links are followed)` : ''}, which is not under this server's allow-list experiments.allowPaths (${listed(policy.allowPaths)}); ` +
            `add a directory holding it to experiments.allowPaths in the server's config and restart, or run the file with the standalone CLI (bulwark run)`,
        );
      }
    }
  }
  return out;
}
