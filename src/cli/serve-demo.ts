/**
 * `bulwark serve --demo` (what `npm start` runs): the demo shop on loopback with its audit log
 * posting CloudEvents to this server under a source token of its own, the demo experiments
 * applied against it (each runs once now, then every minute), so that a newcomer sees
 * `prevented`, `detected` and `missed` runs on the dashboard within a minute.
 *
 * The source token is minted once and kept in the data directory (mode 0600), so restarts reuse
 * it instead of minting another; it is never logged.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { authenticate, createToken } from '../app/access/tokens.ts';
import type { AppDeps } from '../app/deps.ts';
import { applyExperiment } from '../app/experiments/apply-experiment.ts';
import type { RunManager } from '../app/experiments/run-manager.ts';
import { EMPTY_SERVER_POLICY } from '../app/experiments/server-policy.ts';
import { CLOUDEVENTS_SOURCE } from '../core/signals/cloudevents.ts';
import { demoVars, loadDemoExperiments } from '../demo/experiments.ts';
import type { DemoLog } from '../demo/audit.ts';
import { DEMO_SOURCE, httpSignalSink, startDemoTarget } from '../demo/target.ts';
import { systemActor } from '../core/ledger/actor.ts';
import { applySlo } from '../app/slos/apply-slo.ts';
import { DEMO_SLO_FILES } from '../demo/slos.ts';
import { applyDemoCoverage } from '../demo/coverage.ts';
import { applyDemoIncident } from '../demo/incidents.ts';
import { startDemoPlaybook } from '../demo/playbooks.ts';

export const DEMO_TOKEN_FILE = 'demo-shop.token';
/** Who applies and starts the demo experiments, as the ledger writes it. */
/** Who applies and runs the demo's experiments; their `appliedBy` is its label, `demo`. */
export const DEMO_ACTOR = systemActor('demo');
/** The demo shop posts to /v1/signals/cloudevents, whose source is `cloudevents` unless ?source= says otherwise. */
const DEMO_SCOPE = `signals:ingest:${CLOUDEVENTS_SOURCE}`;

export interface DemoOptions {
  deps: AppDeps;
  runs: Pick<RunManager, 'start'>;
  dataDir: string;
  /** Where this server answers, e.g. http://127.0.0.1:7600. */
  bulwarkUrl: string;
  log: DemoLog;
}

export interface Demo {
  /** The demo shop's base URL. */
  url: string;
  /** The names the demo experiments are applied under. */
  experiments: string[];
  /** The names of the demo's SLOs over those experiments. */
  slos: string[];
  /** Bearer token of the shop's control endpoint (PUT /__controls); shown on the terminal only. */
  controlToken: string;
  stop(): Promise<void>;
}

/** The demo source token: the one kept in the data directory while it still works, else a new one. */
export async function demoSourceToken(deps: AppDeps, dataDir: string): Promise<string> {
  const file = path.join(dataDir, DEMO_TOKEN_FILE);
  const kept = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  if (kept) {
    const r = await authenticate(deps, kept);
    if (r.ok && r.principal.scopes.includes(DEMO_SCOPE)) return kept;
  }
  const { token } = await createToken(deps, DEMO_ACTOR, { name: DEMO_SOURCE, kind: 'service', scopes: [DEMO_SCOPE] });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/** The file with `configuration.<key>` set to each value: the applied file says where it points. */
export function withConfiguration(text: string, values: Record<string, string>): string {
  const doc = parseDocument(text);
  for (const [k, v] of Object.entries(values)) doc.setIn(['configuration', k], v);
  return doc.toString({ lineWidth: 0 });
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const token = await demoSourceToken(opts.deps, opts.dataDir);
  const target = await startDemoTarget({
    signalSink: httpSignalSink(`${opts.bulwarkUrl}/v1/signals/cloudevents`, token, { log: opts.log }),
    log: opts.log,
  });
  try {
    const names: string[] = [];
    for (const f of await loadDemoExperiments()) {
      const file = withConfiguration(f.text, demoVars(target.url));
      await applyExperiment(opts.deps, DEMO_ACTOR, { file, name: f.name }, { mayPrivileged: false, policy: EMPTY_SERVER_POLICY });
      names.push(f.name);
    }
    // SLOs over the demo's experiments: budgets, burn rates and the budget policy at work.
    const slos: string[] = [];
    for (const file of DEMO_SLO_FILES) slos.push((await applySlo(opts.deps, DEMO_ACTOR, file)).slo.name);
    // The shop's ATT&CK scope (its threat profile), unless the user has set one.
    await applyDemoCoverage(opts.deps);
    // An incident with a timeline (cases come by themselves: triage opens one for the missed run).
    await applyDemoIncident(opts.deps);
    // A playbook the shop's report of a suspicious client starts: an automatic step done, a manual
    // checklist waiting (sent before the experiments run, so no run's detection window sees it).
    await startDemoPlaybook(
      opts.deps,
      target.url,
      httpSignalSink(`${opts.bulwarkUrl}/v1/signals/cloudevents`, token, { log: opts.log }),
      opts.deps.clock.now(),
    );
    // Once now; the scheduler takes over at the next minute.
    for (const name of names) {
      await opts.runs.start({ name, actor: DEMO_ACTOR, mayPrivileged: false }).catch((e: unknown) => {
        opts.log.warn({ experiment: name, err: e instanceof Error ? e.message : String(e) }, 'demo: the first run was refused');
      });
    }
    return { url: target.url, experiments: names, slos, controlToken: target.controlToken, stop: () => target.stop() };
  } catch (e) {
    await target.stop();
    throw e;
  }
}
