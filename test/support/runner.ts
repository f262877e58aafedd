/** An in-process experiment runner over a real SQLite file, the real ingest and real providers. */
import path from 'node:path';
import { ensureOrigin } from '../../src/app/bootstrap.ts';
import { systemClock, type Clock } from '../../src/app/deps.ts';
import { busDetections } from '../../src/app/experiments/runner/detections.ts';
import type { ExperimentDeps } from '../../src/app/experiments/run-experiment.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { createSignalIngest, type SignalIngest } from '../../src/app/signals/ingest.ts';
import { nodeProviders } from '../../src/adapters/providers/index.ts';
import { parseExperiment } from '../../src/core/experiments/experiment-file.ts';
import type { Experiment } from '../../src/core/experiments/types.ts';
import type { StoredEntry } from '../../src/core/ledger/entry.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { tmpDir } from './tmp.ts';

export interface RunnerFixture {
  dir: string;
  dbFile: string;
  store: Store;
  ingest: SignalIngest;
  deps: ExperimentDeps;
  /** Ledger entries about one run, in order. */
  entriesOf(runId: string): Promise<StoredEntry[]>;
  close(): Promise<void>;
}

export async function runnerFixture(opts: { bus?: boolean; clock?: Clock } = {}): Promise<RunnerFixture> {
  const dir = await tmpDir('bulwark-runner-');
  const dbFile = path.join(dir.path, 'bulwark.db');
  const store = await openSqliteStore(dbFile);
  const origin = await ensureOrigin(store);
  const base = { store, clock: opts.clock ?? systemClock, keys: memoryKeyRing(), origin };
  const ingest = createSignalIngest(base);
  const deps: ExperimentDeps = {
    ...base,
    providers: nodeProviders(),
    stateDir: dir.path,
    ...(opts.bus === false ? {} : { detections: busDetections(ingest.bus) }),
    ingest,
  };
  return {
    dir: dir.path,
    dbFile,
    store,
    ingest,
    deps,
    entriesOf: async (runId) => (await store.ledger.page({ limit: 10_000, order: 'asc' })).filter((e) => e.subject === `run:${runId}`),
    close: async () => {
      await ingest.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

/** Parse an experiment file that must be valid. */
export function experiment(text: string): Experiment {
  const r = parseExperiment(text);
  if (!r.ok)
    throw new Error(`invalid experiment in test:\n${r.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`).join('\n')}`);
  return r.experiment;
}
