/**
 * Experiments in the server: the run manager (runs of applied experiments in the background,
 * detecting on the signals service's bus), offered as the `experiments` service, its metrics and
 * its routes.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Counter, Histogram, type Registry } from 'prom-client';
import { busDetections } from '../../app/experiments/runner/detections.ts';
import type { Providers } from '../../app/experiments/runner/providers.ts';
import type { RunMetrics } from '../../app/experiments/run-experiment.ts';
import { createRunManager, type RunManager, type RunManagerOptions } from '../../app/experiments/run-manager.ts';
import type { RunWriter } from '../../app/experiments/runner/run-writes.ts';
import { EMPTY_SERVER_POLICY, type ServerPolicy } from '../../app/experiments/server-policy.ts';
import { nodeProviders } from '../../adapters/providers/index.ts';
import { experimentRoutes } from '../routes/experiments.ts';
import { runRoutes } from '../routes/runs.ts';
import { service, type ServerPart } from '../server-part.ts';

declare module '../server-part.ts' {
  interface ServerOptions {
    /**
     * Experiments: where runs keep file backups (the data directory), the allow-lists for process
     * and file providers (empty by default: refused), the providers (this machine's by default)
     * and the runner's options. Runs detect on the same bus the signal routes announce on.
     */
    experiments?: {
      stateDir?: string;
      policy?: ServerPolicy;
      providers?: Providers;
      runner?: Omit<RunManagerOptions, 'policy'>;
      /** Where run writes commit (default: on this thread); its owner closes it after the server. */
      runWriter?: RunWriter;
    };
  }
  interface Services {
    /** Runs of applied experiments in this process (closed with the server: rollbacks run). */
    experiments: RunManager;
  }
}

export const experimentsServer: ServerPart = (ctx) => {
  const { app, routes, deps, options } = ctx;
  const ingest = service(ctx, 'signals', 'experiments');
  const policy = options.experiments?.policy ?? EMPTY_SERVER_POLICY;
  const runs = createRunManager(
    {
      ...deps,
      providers: options.experiments?.providers ?? nodeProviders(),
      stateDir: options.experiments?.stateDir ?? path.join(tmpdir(), 'bulwark'),
      detections: busDetections(ingest.bus),
      ingest,
      metrics: experimentRunMetrics(ctx.metrics),
      ...(options.experiments?.runWriter ? { runWriter: options.experiments.runWriter } : {}),
      ...(ctx.services.secrets ? { secrets: ctx.services.secrets } : {}),
    },
    { log: app.log, ...options.experiments?.runner, policy },
  );
  // Before the ingest and the store close: aborted runs still write their rollbacks.
  app.addHook('preClose', async () => {
    void runs.close();
  });
  app.addHook('onClose', () => runs.close());
  ctx.services.experiments = runs;
  experimentRoutes(app, routes, deps, { runs, policy });
  runRoutes(app, routes, deps, { runs });
};

/**
 * Experiment outcomes and times to detect, for the runner (ExperimentDeps.metrics). Idempotent
 * per registry: calling it again returns the same series.
 */
export function experimentRunMetrics(registry: Registry): RunMetrics {
  const runs =
    (registry.getSingleMetric('bulwark_experiment_runs_total') as Counter<'experiment' | 'outcome'> | undefined) ??
    new Counter({
      name: 'bulwark_experiment_runs_total',
      help: 'Experiment runs by experiment and outcome',
      labelNames: ['experiment', 'outcome'],
      registers: [registry],
    });
  const ttd =
    (registry.getSingleMetric('bulwark_experiment_time_to_detect_seconds') as Histogram<'experiment'> | undefined) ??
    new Histogram({
      name: 'bulwark_experiment_time_to_detect_seconds',
      help: 'Time from injection to the first matched detection, per run',
      labelNames: ['experiment'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    });
  return {
    runFinished({ experiment, outcome, ttdMs }) {
      runs.inc({ experiment, outcome });
      if (ttdMs !== null) ttd.observe({ experiment }, ttdMs / 1000);
    },
  };
}
