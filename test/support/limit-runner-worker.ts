/**
 * A second process running one experiment against a target, for the per-target limit test
 * across processes (src/app/experiments/target-limit-database.test.ts).
 *
 *   node --import tsx test/support/limit-runner-worker.ts DB_URL STATE_DIR TARGET_URL SCOPE LIMIT
 *
 * Opens the store and a runner (scope `process` or `database`, `perTargetLimit` LIMIT), prints
 * "ready", waits for a line "go" on stdin, runs the experiment of limit-experiment.ts and prints
 * one JSON line {runId, outcome, reason}. Exit 1 on error.
 */
import { createInterface } from 'node:readline';
import { ensureOrigin } from '../../src/app/bootstrap.ts';
import { systemClock } from '../../src/app/deps.ts';
import { createExperimentRunner } from '../../src/app/experiments/run-experiment.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { nodeProviders } from '../../src/adapters/providers/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import { LIMIT_EXPERIMENT } from './limit-experiment.ts';
import { experiment } from './runner.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

const [url, stateDir, targetUrl, scope, limit] = process.argv.slice(2);
if (!url || !stateDir || !targetUrl || (scope !== 'process' && scope !== 'database') || !limit) {
  process.stderr.write('usage: limit-runner-worker.ts DB_URL STATE_DIR TARGET_URL process|database LIMIT\n');
  process.exit(2);
}

const go = new Promise<void>((resolve, reject) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'go') {
      resolve();
      rl.close();
    }
  });
  rl.on('close', () => reject(new Error('stdin closed before "go"')));
});
go.catch(() => undefined);

let store: Store | undefined;
try {
  store = await openStore(url);
  const origin = await ensureOrigin(store);
  const runner = createExperimentRunner(
    { store, clock: systemClock, keys: memoryKeyRing(), origin, providers: nodeProviders(), stateDir },
    { perTargetLimit: Number(limit), perTargetLimitScope: scope, targetSlotPollMs: 50 },
  );
  process.stdout.write('ready\n');
  await go;
  const r = await runner.run({ experiment: experiment(LIMIT_EXPERIMENT), actor: systemActor('test:worker'), vars: { target: targetUrl } });
  await store.close();
  process.stdout.write(JSON.stringify({ runId: r.runId, outcome: r.outcome, reason: r.reason }) + '\n');
  process.exit(0);
} catch (e) {
  process.stderr.write(`limit-runner-worker failed: ${(e as Error)?.stack ?? String(e)}\n`);
  await store?.close().catch(() => undefined);
  process.exit(1);
}
