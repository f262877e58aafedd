/**
 * Detections: which incoming signals count for which run, and how fast they came.
 *
 * - A signal that carries a run id counts for that run only, and never for another.
 * - A signal without one (an alert on a metric cannot carry it) counts for every run whose
 *   window it falls in: received at or after the run's first injection, while the run waits.
 * - Either way it must satisfy the expectation's CEL `when`; a resolution is never a detection.
 * - Time to detect is Bulwark's receipt time of the first matching signal minus the injection
 *   time; the source's own timestamp gives a second figure beside it (clocks differ).
 * - Per control (core/experiments/controls.ts): every signal the `when` accepts is noted by the
 *   class of its source (alerting or logs) and by the rule it names, whether or not it meets the
 *   expectation's `must`; only one that meets `must` is the expectation's match.
 *
 * Signals arrive on the in-process bus (a server ingesting them) and, where the runner polls,
 * from the store (ingested by another process on the same database). The tracker takes both
 * and counts each signal once.
 */
import { compileCel, matchSignal, type CelProgram } from '../../../core/experiments/cel.ts';
import { firesRule, ruleOf, sourceClassOf, type DetectionEvidence, type SourceClass } from '../../../core/experiments/controls.ts';
import type { DetectionExpectation, DetectionMust } from '../../../core/experiments/types.ts';
import type { Json } from '../../../core/ledger/entry.ts';
import type { Signal } from '../../../core/signals/signal.ts';
import type { Store } from '../../../store/store.ts';
import type { SignalBus } from '../../signals/signal-bus.ts';

/** Where new signals are announced; the runner subscribes before it injects anything. */
export interface DetectionSource {
  subscribe(listener: (s: Signal) => void): () => void;
}

/** The ingest bus as a detection source: each newly stored signal, after its commit. */
export function busDetections(bus: SignalBus): DetectionSource {
  return { subscribe: (listener) => bus.on('signal', listener) };
}

export interface DetectionMatch {
  /** The expectation's name. */
  name: string;
  signalId: string;
  source: string;
  /** How the signal was tied to the run. */
  by: 'run-id' | 'expression';
  /** Bulwark's receipt time of the signal. */
  receivedAt: string;
  /** The source's own time of the signal. */
  sourceTime: string;
  /** receivedAt − injection time: the time to detect. */
  ttdMs: number;
  /** The source's time − injection time; differs from ttdMs by the source's delay and clock. */
  sourceTtdMs: number;
  deadlineMs: number;
  late: boolean;
  /** Whether its source alerts or logs. */
  class: SourceClass;
}

/** A match as its `run.detected` ledger entry records it. */
export function matchEntryData(m: DetectionMatch): { [key: string]: Json } {
  return {
    signal: m.signalId,
    source: m.source,
    by: m.by,
    receivedAt: m.receivedAt,
    sourceTime: m.sourceTime,
    ttdMs: m.ttdMs,
    sourceTtdMs: m.sourceTtdMs,
    deadlineMs: m.deadlineMs,
    late: m.late,
    class: m.class,
  };
}

/** The first signal of a kind the `when` accepted: its id, source and time to detect. */
export interface Observation {
  signal: string;
  source: string;
  ttdMs: number;
}

interface Expectation {
  name: string;
  when: string;
  withinMs: number;
  control?: string;
  must?: DetectionMust;
  rule?: string;
  program: CelProgram;
  match?: DetectionMatch;
  observed: Partial<Record<SourceClass, Observation>>;
  /** The first signal of the named rule. */
  ruleFired?: Observation;
  otherRules: string[];
}

/** Other rules named per expectation, at most. */
const MAX_OTHER_RULES = 20;

const meets = (must: DetectionMust | undefined, cls: SourceClass): boolean =>
  must === undefined || (must === 'alerted' ? cls === 'alerting' : cls === 'logs');

/** Signals buffered before the first injection is known, at most (the rest are dropped). */
const MAX_EARLY = 1000;

/**
 * Compiled `when` expressions by source text. Every run of an experiment asks for the same ones,
 * and parsing and type-checking one costs more than the rest of a tracker; a program is only
 * evaluated, never changed, so runs share it. Bounded: cleared when full.
 */
const compiled = new Map<string, CelProgram>();
const MAX_COMPILED = 1000;

function programOf(e: DetectionExpectation): CelProgram {
  const hit = compiled.get(e.when);
  if (hit) return hit;
  const c = compileCel(e.when);
  // The parser compiled it already; failing here is a programmer mistake.
  if (!c.ok) throw new Error(`detection '${e.name}': ${c.message}`);
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(e.when, c.program);
  return c.program;
}

/** One expectation in the journal (`bulwark.detections`). */
export interface DetectionReport {
  name: string;
  when: string;
  deadlineMs: number;
  match: DetectionMatch | null;
  control?: string;
  must?: DetectionMust;
  rule?: string;
  /** The first signal of the named rule; null when it did not fire. */
  ruleFired?: Observation | null;
  otherRules?: string[];
  observed?: Partial<Record<SourceClass, Observation>>;
}

export class DetectionTracker {
  private readonly expectations: Expectation[];
  private readonly seen = new Set<string>();
  private early: Signal[] = [];
  private injectedAtMs: number | undefined;
  private closed = false;

  constructor(
    private readonly runId: string,
    expectations: readonly DetectionExpectation[],
    private readonly onMatch: (m: DetectionMatch) => void = () => {},
    /** The class of a signal's source (by default, the formats' defaults: controls.ts). */
    private readonly classOf: (source: string) => SourceClass = (source) => sourceClassOf(source),
  ) {
    this.expectations = expectations.map((e) => ({
      name: e.name,
      when: e.when,
      withinMs: e.withinMs,
      ...(e.control !== undefined ? { control: e.control } : {}),
      ...(e.must !== undefined ? { must: e.must } : {}),
      ...(e.rule !== undefined ? { rule: e.rule } : {}),
      program: programOf(e),
      observed: {},
      otherRules: [],
    }));
  }

  get asked(): boolean {
    return this.expectations.length > 0;
  }

  get injectedAt(): number | undefined {
    return this.injectedAtMs;
  }

  /** The run's first injection: the window opens, and signals that came before it are judged. */
  injected(atMs: number): void {
    if (this.injectedAtMs !== undefined) return;
    this.injectedAtMs = atMs;
    const early = this.early;
    this.early = [];
    for (const s of early) this.offer(s);
  }

  /** Stop counting: the run's window is closed. */
  close(): void {
    this.closed = true;
    this.early = [];
  }

  /** Judge one signal; returns what it newly matched. */
  offer(s: Signal): DetectionMatch[] {
    if (this.closed || this.expectations.length === 0) return [];
    if (s.resolved) return [];
    if (s.runId !== undefined && s.runId !== this.runId) return [];
    if (this.injectedAtMs === undefined) {
      if (this.early.length < MAX_EARLY) this.early.push(s);
      return [];
    }
    if (this.seen.has(s.id)) return [];
    this.seen.add(s.id);
    const received = Date.parse(s.receivedAt);
    if (!Number.isFinite(received) || received < this.injectedAtMs) return [];
    const by = s.runId === this.runId ? 'run-id' : 'expression';
    const cel = {
      id: s.id,
      source: s.source,
      time: s.time,
      receivedAt: s.receivedAt,
      severity: s.severity,
      labels: s.labels,
      body: s.body,
      fingerprint: s.fingerprint,
    };
    const out: DetectionMatch[] = [];
    const ttdMs = received - this.injectedAtMs;
    const cls = this.classOf(s.source);
    const observation: Observation = { signal: s.id, source: s.source, ttdMs };
    for (const e of this.expectations) {
      // The first receipt counts; a signal found later by the store poll may still be earlier.
      const better = (o: Observation | undefined) => o === undefined || o.ttdMs > ttdMs;
      const fired = e.rule !== undefined && firesRule(s.labels, e.rule);
      const wanted =
        better(e.observed[cls]) ||
        (fired && better(e.ruleFired)) ||
        (e.rule !== undefined && !fired && e.otherRules.length < MAX_OTHER_RULES) ||
        (meets(e.must, cls) && (!e.match || e.match.receivedAt > s.receivedAt));
      if (!wanted) continue;
      if (!matchSignal(e.program, cel, { id: this.runId }).matched) continue;
      if (better(e.observed[cls])) e.observed[cls] = observation;
      if (fired && better(e.ruleFired)) e.ruleFired = observation;
      if (e.rule !== undefined && !fired) {
        const other = ruleOf(s.labels);
        if (other !== undefined && !e.otherRules.includes(other) && e.otherRules.length < MAX_OTHER_RULES) e.otherRules.push(other);
      }
      if (!meets(e.must, cls) || (e.match && e.match.receivedAt <= s.receivedAt)) continue;
      const sourceMs = Date.parse(s.time);
      e.match = {
        name: e.name,
        signalId: s.id,
        source: s.source,
        by,
        receivedAt: s.receivedAt,
        sourceTime: s.time,
        ttdMs,
        sourceTtdMs: Number.isFinite(sourceMs) ? sourceMs - this.injectedAtMs : ttdMs,
        deadlineMs: e.withinMs,
        late: ttdMs > e.withinMs,
        class: cls,
      };
      out.push(e.match);
      this.onMatch(e.match);
    }
    return out;
  }

  /** Every expectation has a match (in time or late). */
  allMatched(): boolean {
    // With a named rule, the wait goes on for that rule after another one met the expectation.
    return this.expectations.every((e) => e.match !== undefined && (e.rule === undefined || e.ruleFired !== undefined));
  }

  /** The latest deadline as an absolute time, once the injection is known. */
  lastDeadline(): number | undefined {
    if (this.injectedAtMs === undefined) return undefined;
    return this.injectedAtMs + Math.max(0, ...this.expectations.map((e) => e.withinMs));
  }

  longestDeadlineMs(): number {
    return Math.max(0, ...this.expectations.map((e) => e.withinMs));
  }

  matches(): DetectionMatch[] {
    return this.expectations.flatMap((e) => (e.match ? [e.match] : []));
  }

  /** For decideOutcome. */
  summary(): { name: string; deadlineMs: number; detectedAfterMs?: number; loggedNotAlerted?: boolean }[] {
    return this.expectations.map((e) => ({
      name: e.name,
      deadlineMs: e.withinMs,
      ...(e.match ? { detectedAfterMs: e.match.ttdMs } : {}),
      ...(!e.match && e.must === 'alerted' && e.observed.logs ? { loggedNotAlerted: true } : {}),
    }));
  }

  /** For controlResults: what each expectation saw, per class and rule. */
  evidence(): DetectionEvidence[] {
    return this.expectations.map((e) => ({
      name: e.name,
      ...(e.control !== undefined ? { control: e.control } : {}),
      ...(e.must !== undefined ? { must: e.must } : {}),
      ...(e.rule !== undefined ? { rule: e.rule, ruleFired: e.ruleFired !== undefined, otherRules: [...e.otherRules] } : {}),
      deadlineMs: e.withinMs,
      ...(e.match ? { metTtdMs: e.match.ttdMs } : {}),
      observed: {
        ...(e.observed.alerting ? { alerting: e.observed.alerting.ttdMs } : {}),
        ...(e.observed.logs ? { logs: e.observed.logs.ttdMs } : {}),
      },
    }));
  }

  /** What the journal says of each expectation (`control`, `must`, `rule` and what was observed only when asked or seen). */
  report(): DetectionReport[] {
    return this.expectations.map((e) => ({
      name: e.name,
      when: e.when,
      deadlineMs: e.withinMs,
      match: e.match ?? null,
      ...(e.control !== undefined ? { control: e.control } : {}),
      ...(e.must !== undefined ? { must: e.must } : {}),
      ...(e.rule !== undefined ? { rule: e.rule, ruleFired: e.ruleFired ?? null, otherRules: [...e.otherRules] } : {}),
      ...(e.observed.alerting || e.observed.logs ? { observed: { ...e.observed } } : {}),
    }));
  }
}

/**
 * Poll the store for signals received since `sinceIso`, every `intervalMs`, until `signal`
 * aborts: the detection path across processes (a server on the same database ingests them).
 * Each round reads newest first down to what it saw last, at most `maxPages` pages.
 */
export function pollStoredSignals(
  store: Pick<Store, 'signals'>,
  sinceIso: string,
  intervalMs: number,
  onSignal: (s: Signal) => void,
  signal: AbortSignal,
  opts: { pageSize?: number; maxPages?: number; onError?: (e: unknown) => void } = {},
): Promise<void> {
  const pageSize = opts.pageSize ?? 200;
  const maxPages = opts.maxPages ?? 20;
  const seen = new Set<string>();
  const round = async () => {
    let cursor: { receivedAt: string; id: string } | undefined;
    for (let page = 0; page < maxPages; page++) {
      const r = await store.signals.list({ since: sinceIso, limit: pageSize, ...(cursor ? { cursor } : {}) });
      let fresh = 0;
      for (const s of r.signals) {
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        fresh += 1;
        onSignal(s);
      }
      if (!r.next || fresh === 0) return;
      cursor = r.next;
    }
  };
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    const tick = () => {
      round()
        .catch((e: unknown) => opts.onError?.(e))
        .finally(() => {
          if (!signal.aborted) timer = setTimeout(tick, intervalMs);
        });
    };
    timer = setTimeout(tick, 0);
  });
}
