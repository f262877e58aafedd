/** An SLO as Bulwark evaluates it, whichever file it came from (Bulwark's format or OpenSLO v1). */
import type { CalendarUnit } from './duration.ts';

export type SloWindow =
  | { kind: 'rolling'; ms: number; text: string }
  | {
      kind: 'calendar';
      count: number;
      unit: CalendarUnit;
      /** Wall-clock start of one period, `YYYY-MM-DDTHH:mm:ss` in `timeZone`; periods repeat from it. */
      startTime: string;
      timeZone: string;
      text: string;
    };

export type Budgeting =
  | { method: 'occurrences' }
  /** A slice is good when its ratio of good events is at least `sliceTarget`. */
  | { method: 'timeslices'; sliceMs: number; sliceTarget: number }
  /** Each slice counts with its ratio of good events. */
  | { method: 'ratio-timeslices'; sliceMs: number };

/** Which runs an experiment SLI counts: all of these that are given must hold. */
export interface RunSelector {
  experiment?: string;
  technique?: string;
  tag?: string;
}

export type Sli =
  /** Runs detected within their deadline (or prevented) ÷ executed runs. */
  | { source: 'experiments'; select: RunSelector }
  /** Runs whose time to detect is at most `thresholdMs` ÷ executed runs that expected a detection. */
  | { source: 'time-to-detect'; select: RunSelector; thresholdMs: number }
  /**
   * Signals Bulwark ingested: those matching `total` (a CEL expression over `signal`) are the
   * events, those also matching `good` the good ones; each counts at its receipt.
   */
  | { source: 'signals'; good: string; total: string }
  /** Queries to an external Prometheus over its HTTP API (prometheus.ts). */
  | PrometheusSli
  /** Queries to a metric source Bulwark does not read (an imported OpenSLO file): rules only. */
  | {
      source: 'external';
      type: string;
      good?: string;
      bad?: string;
      total?: string;
      threshold?: { op: 'lt' | 'lte' | 'gt' | 'gte'; value: number; query: string };
    };

export interface PrometheusSli {
  source: 'prometheus';
  /** The base URL: queries go to `${url}/api/v1/query`. */
  url: string;
  /** PromQL with `{{.window}}` where the range goes, or a bare series selector; good or bad is given. */
  good?: string;
  bad?: string;
  total: string;
  /** Hosts Bulwark may call for this SLI (loopback when the file names none). */
  allowHosts: string[];
  /** Each query's bound. */
  timeoutMs: number;
}

export type AlertStrategy = 'sloth' | 'pyrra';

export interface Alerting {
  strategy: AlertStrategy;
  /** Below this many events in an alert's long window the alert does not fire. */
  minEvents: number;
  page: boolean;
  ticket: boolean;
}

/** The error budget policy: what happens when the budget runs low. */
export interface BudgetPolicy {
  /** Remaining budget (a ratio, 0–1) under which deploys that are not security fixes are frozen. */
  freezeBelow: number;
  /** An incident that spent more than this share of the budget requires a postmortem. */
  postmortemAbove?: number;
  /**
   * Remaining budget (a ratio; 0 is exhausted) at or under which every incident of the period
   * requires a postmortem.
   */
  postmortemBelow?: number;
  /** Page the owner when the policy freezes. */
  pageOwner: boolean;
}

/** A window whose events the SLO leaves out of its budget (exclusions.ts). */
export interface Exclusion {
  name: string;
  /** Wall-clock start of the (first) window, `YYYY-MM-DDTHH:mm:ss` in `timeZone`. */
  start: string;
  durationMs: number;
  /** An RFC 5545 RRULE without DTSTART (`FREQ=WEEKLY;BYDAY=SU`): the window repeats at each occurrence; absent: once. */
  rrule?: string;
  timeZone: string;
}

export interface Slo {
  name: string;
  displayName: string;
  description: string;
  service: string;
  owner?: string;
  /** The objective as a ratio, 0 < objective < 1 (99.9% is 0.999). */
  objective: number;
  window: SloWindow;
  budgeting: Budgeting;
  sli: Sli;
  alerting: Alerting;
  policy?: BudgetPolicy;
  /** Windows whose events are left out of the budget (good and total). */
  exclusions: Exclusion[];
  labels: Record<string, string>;
  /** Which format the file was in. */
  format: 'bulwark/v1' | 'openslo/v1';
}

/** Events at one instant: how many were good out of how many. */
export interface SliEvent {
  at: number;
  good: number;
  total: number;
}
