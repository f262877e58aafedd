/**
 * Continuous verification: applied experiments with a `schedule` run on their cron (UTC) plus a
 * jitter. Every replica runs a scheduler; before starting an occurrence each claims it with a unique
 * (experiment, scheduledAt) row (ExperimentRepo.claimOccurrence, ON CONFLICT DO NOTHING), so an occurrence
 * runs once however many replicas share the database — the one whose jitter fell first wins.
 *
 * Occurrences missed while no scheduler ran are not caught up: after a pause the next occurrence is the next
 * one from now. A occurrence whose experiment still has a live run (its lease not expired) is skipped,
 * so a run longer than its period does not pile up.
 */
import { parseCron, nextRun, type Cron } from '../../core/experiments/cron.ts';
import type { Store } from '../../store/store.ts';
import type { ExperimentRecord } from '../../store/experiments/port.ts';
import { systemRandom, type Clock, type Random } from '../deps.ts';
import type { RunManager, RunManagerLog } from './run-manager.ts';
import { systemActor } from '../../core/ledger/actor.ts';

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  runs: Pick<RunManager, 'start'>;
  /** Who claims occurrences (a replica's lease owner name); written in the claim row. */
  owner: string;
  /** How often to look at the schedules (default 1 s). */
  tickMs?: number;
  /**
   * How long before an occurrence its run is claimed and stored (default: tickMs). The run then starts
   * at the occurrence's time on a timer, not at the first tick after it.
   */
  leadMs?: number;
  /** The jitter's random source, values in [0, 1) (default systemRandom). */
  random?: Random;
  /** Which scheduled experiments this scheduler runs (default: all). */
  include?: (e: ExperimentRecord) => boolean;
  log?: RunManagerLog;
}

export interface Scheduler {
  /** Look at every schedule now: claim and start the occurrences that are due. */
  tick(): Promise<void>;
  /** Stop ticking; resolves when a tick in progress is over (runs it started go on). */
  stop(): Promise<void>;
}

interface Plan {
  /** The file version the plan was computed for: a re-apply recomputes it. */
  sha: string;
  cron: Cron;
  jitterMs: number;
  scheduledAt: number;
  runAt: number;
}

/** Start a scheduler that ticks every `tickMs` until stopped. */
export function startScheduler(opts: SchedulerOptions): Scheduler {
  const s = createScheduler(opts);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    current = s
      .tick()
      .catch((err: unknown) => opts.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'scheduler: tick failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, opts.tickMs ?? 1000);
      });
  };
  loop();
  return {
    tick: () => s.tick(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}

/** A scheduler driven by the caller's ticks (tests drive it with a clock of their own). */
export function createScheduler(opts: SchedulerOptions): Pick<Scheduler, 'tick'> {
  const random = opts.random ?? systemRandom;
  const lead = opts.leadMs ?? opts.tickMs ?? 1000;
  const plans = new Map<string, Plan>();
  let ticking: Promise<void> | undefined;

  const plan = (e: ExperimentRecord, afterMs: number, prior?: Plan): Plan | undefined => {
    if (!e.schedule) return undefined;
    let cron: Cron;
    try {
      cron = prior && prior.sha === e.fileSha256 ? prior.cron : parseCron(e.schedule.cron);
    } catch (err) {
      opts.log?.warn({ experiment: e.name, err: (err as Error).message }, `experiment ${e.name}: its schedule does not parse`);
      return undefined;
    }
    const next = nextRun(cron, afterMs, e.schedule.jitterMs, random);
    return next ? { sha: e.fileSha256, cron, jitterMs: e.schedule.jitterMs, ...next } : undefined;
  };

  const due = async (e: ExperimentRecord, p: Plan): Promise<void> => {
    const occurrence = new Date(p.scheduledAt).toISOString();
    const now = opts.clock.now();
    if (!(await opts.store.experiments.claimOccurrence(e.name, occurrence, opts.owner, now.toISOString()))) return;
    const [last] = (await opts.store.runs.list({ experiment: e.name, limit: 1 })).runs;
    if (last && last.state !== 'done' && last.leaseUntil !== null && last.leaseUntil > now.toISOString()) {
      opts.log?.info(
        { experiment: e.name, occurrence, run: last.id },
        `experiment ${e.name}: occurrence ${occurrence} skipped, run ${last.id} still going`,
      );
      return;
    }
    try {
      const run = await opts.runs.start({
        name: e.name,
        actor: systemActor('scheduler', 'scheduler'),
        mayPrivileged: true,
        startAt: p.runAt,
      });
      opts.log?.info({ experiment: e.name, occurrence, run: run.id }, `experiment ${e.name}: scheduled run ${run.id} started`);
    } catch (err) {
      opts.log?.warn({ experiment: e.name, occurrence, err: (err as Error).message }, `experiment ${e.name}: scheduled run refused`);
    }
  };

  const tickOnce = async (): Promise<void> => {
    const nowMs = opts.clock.now().getTime();
    const scheduled = (await opts.store.experiments.scheduled()).filter((e) => opts.include?.(e) ?? true);
    const names = new Set(scheduled.map((e) => e.name));
    for (const name of plans.keys()) if (!names.has(name)) plans.delete(name);
    for (const e of scheduled) {
      let p = plans.get(e.name);
      if (!p || p.sha !== e.fileSha256) {
        // New, or applied again: plan from now (a changed cron must not fire for a past minute).
        p = plan(e, nowMs, p);
        if (p) plans.set(e.name, p);
        else plans.delete(e.name);
        continue;
      }
      if (nowMs + lead < p.runAt) continue;
      try {
        await due(e, p);
      } catch (err) {
        opts.log?.warn({ experiment: e.name, err: (err as Error).message }, `experiment ${e.name}: could not claim its occurrence`);
      }
      // The next occurrence after this one, or after now if the process lagged past several.
      const next = plan(e, Math.max(p.scheduledAt, nowMs - 1), p);
      if (next) plans.set(e.name, next);
      else plans.delete(e.name);
    }
  };

  return {
    tick() {
      // One tick at a time: a slow database must not start an occurrence twice in this process.
      ticking ??= tickOnce().finally(() => (ticking = undefined));
      return ticking;
    },
  };
}
