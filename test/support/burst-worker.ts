/** A thread that runs one job of burst.ts (a load, or probes until told to stop) and posts its outcomes. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { load, probe, type BurstJob, type Outcome, type ThreadResult } from './burst.ts';

const job = workerData as BurstJob;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let outcomes: Outcome[];
if (job.kind === 'load') {
  outcomes = await load(job.opts);
} else {
  const stop = new Promise<void>((resolve) => parentPort!.on('message', (m) => m === 'stop' && resolve()));
  outcomes = await probe(job.port, job.spec, { ...job.opts, stop });
}
delay.disable();
const result: ThreadResult = { outcomes, clientDelayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 } };
parentPort!.postMessage(result);
