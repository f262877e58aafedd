/**
 * Admission control: which requests the server takes on, decided before any work is done for
 * them (the first onRequest hook, before authentication). Overload is measured three ways:
 *
 * - requests admitted and not yet finished (from onRequest to the response's close), which is
 *   what piles up when handlers wait (signal batches, database locks);
 * - event-loop delay, which is what piles up when handlers are synchronous: the requests wait
 *   in socket buffers the loop has not read yet, so no in-flight count ever sees them. It is the
 *   larger of a smoothed lateness of a short timer and how late that timer is right now, so a
 *   long turn of the loop stops admitting low-priority work while it is still going on;
 * - event-loop utilisation, the busy share of the time (smoothed over about 200 ms): a loop busy
 *   all the time is at capacity even when each turn is short, and what arrives beyond that waits
 *   in the kernel or in the clients, where neither of the measures above sees it;
 * - the V8 heap in use, as a fraction of its limit.
 *
 * Each priority has its own bounds: `low` (listing pages, documents) is refused first, `normal`
 * next, `critical` (the global stop, signal ingest) only at much higher bounds. Health checks
 * are not asked (the caller exempts them). One controller per server; nothing is global.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { RoutePriority } from './route.ts';

export type Priority = RoutePriority;
export const PRIORITIES: readonly Priority[] = ['critical', 'normal', 'low'];
export type ShedReason = 'in_flight' | 'event_loop_delay' | 'event_loop_utilization' | 'heap';
export const SHED_REASONS: readonly ShedReason[] = ['in_flight', 'event_loop_delay', 'event_loop_utilization', 'heap'];

export interface Limits {
  /** Requests admitted and not finished (all priorities together) at which this priority is refused. */
  inFlight: number;
  /** Event-loop delay in milliseconds at which this priority is refused. */
  lagMs: number;
  /** V8 heap used, as a fraction of the heap limit, at which this priority is refused. */
  heapFraction: number;
  /** Event-loop utilisation (busy share of the time, smoothed) at which this priority is refused. */
  utilization: number;
}

export interface OverloadOptions {
  /**
   * false: only the in-flight bound of `normal`, for every priority, and no measurements (the
   * behaviour before priorities, kept for comparison). Default true.
   */
  enabled?: boolean;
  /** The in-flight bound of `normal` (default 256); `low` gets half, `critical` four times. */
  maxInFlight?: number;
  /** The event-loop delay bound of `normal` in ms (default 500); `low` gets half, `critical` five times. */
  maxEventLoopDelayMs?: number;
  /** The heap bound of `normal` (default 0.85 of the limit); `low` 0.10 less, `critical` 0.10 more (at most 0.98). */
  maxHeapFraction?: number;
  /** Bounds set one by one, over the ones derived above. */
  limits?: { [P in Priority]?: Partial<Limits> };
  /** The Retry-After of a refused request, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** How often the event-loop delay and the heap are sampled, in ms (default 20). */
  sampleIntervalMs?: number;
}

/** Where the controller reads time and the heap; tests hand in their own. */
export interface LoadSource {
  /** A monotonic clock in milliseconds. */
  now(): number;
  heap(): { used: number; limit: number };
  /** The share of the time the event loop was busy since the previous call (0 to 1). */
  utilization(): number;
}

/** The real clock, heap and event-loop utilisation of this thread. */
export function systemLoadSource(): LoadSource {
  let last = performance.eventLoopUtilization();
  return {
    now: () => performance.now(),
    heap: () => {
      const h = getHeapStatistics();
      return { used: h.used_heap_size, limit: h.heap_size_limit };
    },
    utilization: () => {
      const next = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(next, last).utilization;
      last = next;
      return u;
    },
  };
}

/**
 * The listen backlog `bulwark serve` asks for (the kernel caps it at net.core.somaxconn, 4096 by
 * default on Linux). Node's default of 511 overflows when a flood of new connections meets a busy
 * loop, and a client whose SYN is dropped retries only after 1 s, 3 s, 7 s: health checks too.
 * Connections held in the queue instead are accepted at the next turn of the loop, which
 * shedding keeps short, and refused there at once if the server is overloaded.
 */
export const LISTEN_BACKLOG = 4096;

export const OVERLOAD_DEFAULTS = {
  maxInFlight: 256,
  maxEventLoopDelayMs: 500,
  maxHeapFraction: 0.85,
  retryAfterSeconds: 1,
  sampleIntervalMs: 20,
};

/** The bounds of each priority: derived from the `normal` ones, then overridden one by one. */
export function overloadLimits(o: OverloadOptions = {}): Record<Priority, Limits> {
  const inFlight = o.maxInFlight ?? OVERLOAD_DEFAULTS.maxInFlight;
  const lagMs = o.maxEventLoopDelayMs ?? OVERLOAD_DEFAULTS.maxEventLoopDelayMs;
  const heap = o.maxHeapFraction ?? OVERLOAD_DEFAULTS.maxHeapFraction;
  const derived: Record<Priority, Limits> = {
    low: { inFlight: Math.max(1, Math.floor(inFlight / 2)), lagMs: lagMs / 2, heapFraction: Math.max(0.05, heap - 0.1), utilization: 0.9 },
    normal: { inFlight, lagMs, heapFraction: heap, utilization: 0.98 },
    // Never by utilisation: a loop fully busy with critical work still takes critical work.
    critical: { inFlight: inFlight * 4, lagMs: lagMs * 5, heapFraction: Math.min(0.98, heap + 0.1), utilization: Infinity },
  };
  for (const p of PRIORITIES) derived[p] = { ...derived[p], ...o.limits?.[p] };
  return derived;
}

/** The smoothing weight of each new event-loop delay sample. */
const ALPHA = 0.3;
/** The smoothing weight of each utilisation sample: over about 200 ms of 20 ms samples. */
const ALPHA_UTILIZATION = 0.1;

export class AdmissionController {
  readonly enabled: boolean;
  readonly limits: Record<Priority, Limits>;
  readonly retryAfterSeconds: number;
  private readonly interval: number;
  private inFlight = 0;
  private lag = 0;
  private heapFraction = 0;
  private utilization = 0;
  private due = 0;
  /** Whether samples are being taken (the timer runs, or a test samples by hand). */
  private measuring = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly shedCounts = new Map<string, number>();
  private readonly listeners = new Set<(priority: Priority, reason: ShedReason) => void>();

  constructor(
    opts: OverloadOptions = {},
    private readonly source: LoadSource = systemLoadSource(),
  ) {
    this.enabled = opts.enabled ?? true;
    this.limits = overloadLimits(opts);
    this.retryAfterSeconds = opts.retryAfterSeconds ?? OVERLOAD_DEFAULTS.retryAfterSeconds;
    this.interval = opts.sampleIntervalMs ?? OVERLOAD_DEFAULTS.sampleIntervalMs;
    this.due = source.now() + this.interval;
  }

  /** Start sampling (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (!this.enabled || this.timer) return;
    this.measuring = true;
    this.due = this.source.now() + this.interval;
    const tick = () => {
      this.sample();
      this.timer = setTimeout(tick, this.interval).unref();
    };
    this.timer = setTimeout(tick, this.interval).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.measuring = false;
  }

  /** One sample: how late this tick is, smoothed, and the heap. The timer calls it; tests too. */
  sample(): void {
    const t = this.source.now();
    if (!this.measuring) this.due = t;
    this.measuring = true;
    this.lag += ALPHA * (Math.max(0, t - this.due) - this.lag);
    this.due = t + this.interval;
    const h = this.source.heap();
    this.heapFraction = h.limit > 0 ? h.used / h.limit : 0;
    this.utilization += ALPHA_UTILIZATION * (this.source.utilization() - this.utilization);
  }

  /** The event-loop delay now: the smoothed one, or how late the next sample already is. */
  lagMs(): number {
    return this.enabled && this.measuring ? Math.max(this.lag, this.source.now() - this.due) : 0;
  }

  /**
   * Admit a request of this priority, or say why not. An admitted request counts as in flight
   * until `release()` is called for it. Event-loop delay and utilisation count only for requests
   * that came over a connection (`network`): a request made in the process (Fastify's inject, in
   * tests and tools) waits in no socket buffer, and the loop it would find busy may be busy with
   * the caller's own work.
   */
  admit(priority: Priority, network = true): ShedReason | undefined {
    const reason = this.refusal(priority, network);
    if (reason) {
      const key = `${priority}:${reason}`;
      this.shedCounts.set(key, (this.shedCounts.get(key) ?? 0) + 1);
      for (const l of this.listeners) l(priority, reason);
      return reason;
    }
    this.inFlight += 1;
    return undefined;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  private refusal(priority: Priority, network: boolean): ShedReason | undefined {
    if (!this.enabled) return this.inFlight >= this.limits.normal.inFlight ? 'in_flight' : undefined;
    const l = this.limits[priority];
    if (this.inFlight >= l.inFlight) return 'in_flight';
    if (!network) return this.heapFraction >= l.heapFraction ? 'heap' : undefined;
    if (this.lagMs() >= l.lagMs) return 'event_loop_delay';
    if (this.heapFraction >= l.heapFraction) return 'heap';
    if (this.measuring && this.utilization >= l.utilization) return 'event_loop_utilization';
    return undefined;
  }

  /** Called at each refusal (the metrics count them). Returns the unsubscribe. */
  onShed(listener: (priority: Priority, reason: ShedReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): { inFlight: number; lagMs: number; heapFraction: number; utilization: number; shed: Record<string, number> } {
    return {
      inFlight: this.inFlight,
      lagMs: this.lagMs(),
      heapFraction: this.heapFraction,
      utilization: this.utilization,
      shed: Object.fromEntries(this.shedCounts),
    };
  }
}
