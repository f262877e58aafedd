/** A thread that runs one job of burst.ts (a load, or probes until told to stop) and posts its outcomes. */
import { parentPort, workerData } from 'node:worker_threads';
import { load, probe, type BurstJob, type Outcome } from './burst.ts';

const job = workerData as BurstJob;
let outcomes: Outcome[];
if (job.kind === 'load') {
  outcomes = await load(job.opts);
} else {
  const stop = new Promise<void>((resolve) => parentPort!.on('message', (m) => m === 'stop' && resolve()));
  outcomes = await probe(job.port, job.spec, { ...job.opts, stop });
}
parentPort!.postMessage(outcomes);
