/**
 * Per-control results: what each control under test did in a run — blocked, alerted, logged —
 * kept side by side rather than collapsed into the run's one outcome (as VECTR records them
 * since 9.6). docs/experiments.md ("Per-control outcomes") has the tables.
 *
 * - A source is `alerting` or `logs`. By default Alertmanager and Bulwark's own signals alert,
 *   and everything else (the tailed files, CloudEvents, webhooks) is a log source until declared
 *   alerting (coverage settings, `signalSources`): claiming an alert that is only a log line
 *   would overstate coverage, the other mistake only understates it.
 * - `alerted` for a control: a signal from an alerting source met one of its detections' `when`;
 *   `logged`: one from a log source did. `blocked`: its `expect.blocked` held.
 * - A detection that asks `must: alerted` is met only by an alerting source's signal; one met
 *   only by a log record is the finding `logged-not-alerted`, not `not-detected`.
 * - A detection naming a `rule` is met by any signal its `when` accepts (the control did see
 *   the attack), and the rule is checked beside it: `detected-by-another-rule` when only other
 *   rules fired.
 */

export const CONTROL_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** The control of expectations that name none. */
export const DEFAULT_CONTROL = 'default';

export const SOURCE_CLASSES = ['alerting', 'logs'] as const;
export type SourceClass = (typeof SOURCE_CLASSES)[number];

/** The class of each signal format's default source name; any other source is a log source unless declared. */
export const DEFAULT_SOURCE_CLASSES: Readonly<Record<string, SourceClass>> = Object.freeze({
  alertmanager: 'alerting',
  bulwark: 'alerting',
  cloudevents: 'logs',
  webhook: 'logs',
  modsecurity: 'logs',
  nginx: 'logs',
  auditd: 'logs',
});

/** The class of a source: as declared, else its format's default, else `logs`. */
export function sourceClassOf(source: string, declared: Readonly<Record<string, SourceClass>> = {}): SourceClass {
  if (Object.hasOwn(declared, source)) return declared[source]!;
  return Object.hasOwn(DEFAULT_SOURCE_CLASSES, source) ? DEFAULT_SOURCE_CLASSES[source]! : 'logs';
}

/** The `signalSources` of a stored settings document, tolerantly: entries that are not a source class are left out. */
export function parseSourceClasses(settings: unknown): Record<string, SourceClass> {
  const out: Record<string, SourceClass> = {};
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) return out;
  const declared = (settings as Record<string, unknown>)['signalSources'];
  if (declared === null || typeof declared !== 'object' || Array.isArray(declared)) return out;
  for (const [k, v] of Object.entries(declared))
    if (v === 'alerting' || v === 'logs') Object.defineProperty(out, k, { value: v, enumerable: true });
  return out;
}

/**
 * Whether a signal's labels say that `rule` fired: `rule` (ModSecurity's top rule, a webhook's
 * rule label, a Sigma rule id mapped to it), any of `rules` (ModSecurity's comma list of every
 * rule that matched), or `alertname` (Alertmanager).
 */
export function firesRule(labels: Readonly<Record<string, string>>, rule: string): boolean {
  if (labels['rule'] === rule || labels['alertname'] === rule) return true;
  const list = labels['rules'];
  return list !== undefined && list.split(',').some((r) => r.trim() === rule);
}

/** The rule a signal names, for "detected by another rule": `rule`, else `alertname`. */
export function ruleOf(labels: Readonly<Record<string, string>>): string | undefined {
  return labels['rule'] ?? labels['alertname'];
}

export const CONTROL_FACTS = ['blocked', 'alerted', 'logged'] as const;
export type ControlFact = (typeof CONTROL_FACTS)[number];
export type ControlResultValue = ControlFact | 'none';
export const CONTROL_ASKS = ['blocked', 'alerted', 'logged', 'detected'] as const;
export type ControlAsk = (typeof CONTROL_ASKS)[number];

export const CONTROL_FINDINGS = [
  'not-blocked',
  'logged-not-alerted',
  'not-alerted',
  'not-logged',
  'not-detected',
  'detected-late',
  'detected-by-another-rule',
] as const;
export type ControlFinding = (typeof CONTROL_FINDINGS)[number];

export interface ControlResult {
  control: string;
  /** What the expectations asked of it: `detected` is a detection that accepts any source. */
  expected: ControlAsk[];
  /** Whether its block held; null when blocking was not asked of it. */
  blocked: boolean | null;
  alerted: boolean;
  logged: boolean;
  /** The facts observed, in the order blocked, alerted, logged; `['none']` when none was. */
  results: ControlResultValue[];
  /** Time to detect of its first alert, and of its first log record (ms after the injection). */
  alertedTtdMs: number | null;
  loggedTtdMs: number | null;
  /** What fell short, per expectation (named in `details`). */
  findings: ControlFinding[];
  details: { finding: ControlFinding; detection?: string; rules?: string[] }[];
}

/** One detection expectation as the run saw it. */
export interface DetectionEvidence {
  name: string;
  control?: string;
  must?: 'alerted' | 'logged';
  rule?: string;
  deadlineMs: number;
  /** Time to detect of the signal that met it, if one did. */
  metTtdMs?: number;
  /** The first signal of each class that its `when` accepted (whatever `must` and `rule` say). */
  observed: Partial<Record<SourceClass, number>>;
  /** Whether the named rule fired; absent without a rule. */
  ruleFired?: boolean;
  /** Other rules that fired where the named one did not. */
  otherRules?: string[];
}

export interface ControlEvidence {
  blocked?: { control?: string; held: boolean };
  detections: readonly DetectionEvidence[];
}

const minOf = (a: number | null, b: number | undefined): number | null => (b === undefined ? a : a === null ? b : Math.min(a, b));

/** The result of each control the expectations name, by name; none when nothing was expected. */
export function controlResults(e: ControlEvidence): ControlResult[] {
  const byName = new Map<string, ControlResult>();
  const of = (name: string | undefined): ControlResult => {
    const key = name ?? DEFAULT_CONTROL;
    let r = byName.get(key);
    if (!r) {
      r = {
        control: key,
        expected: [],
        blocked: null,
        alerted: false,
        logged: false,
        results: [],
        alertedTtdMs: null,
        loggedTtdMs: null,
        findings: [],
        details: [],
      };
      byName.set(key, r);
    }
    return r;
  };
  const expect = (r: ControlResult, f: ControlAsk) => {
    if (!r.expected.includes(f)) r.expected.push(f);
  };
  const find = (r: ControlResult, finding: ControlFinding, detection?: string, rules?: string[]) => {
    if (!r.findings.includes(finding)) r.findings.push(finding);
    r.details.push({ finding, ...(detection !== undefined ? { detection } : {}), ...(rules && rules.length ? { rules } : {}) });
  };
  if (e.blocked) {
    const r = of(e.blocked.control);
    expect(r, 'blocked');
    r.blocked = (r.blocked ?? true) && e.blocked.held;
    if (!e.blocked.held) find(r, 'not-blocked');
  }
  for (const d of e.detections) {
    const r = of(d.control);
    expect(r, d.must ?? 'detected');
    if (d.observed.alerting !== undefined) {
      r.alerted = true;
      r.alertedTtdMs = minOf(r.alertedTtdMs, d.observed.alerting);
    }
    if (d.observed.logs !== undefined) {
      r.logged = true;
      r.loggedTtdMs = minOf(r.loggedTtdMs, d.observed.logs);
    }
    if (d.metTtdMs === undefined) {
      if (d.must === 'alerted') find(r, d.observed.logs !== undefined ? 'logged-not-alerted' : 'not-alerted', d.name);
      else if (d.must === 'logged') find(r, 'not-logged', d.name);
      else find(r, 'not-detected', d.name);
      continue;
    }
    if (d.metTtdMs > d.deadlineMs) find(r, 'detected-late', d.name);
    if (d.rule !== undefined && d.ruleFired === false) find(r, 'detected-by-another-rule', d.name, d.otherRules ?? []);
  }
  for (const r of byName.values()) {
    r.expected.sort((a, b) => CONTROL_ASKS.indexOf(a) - CONTROL_ASKS.indexOf(b));
    const results: ControlResultValue[] = [];
    if (r.blocked === true) results.push('blocked');
    if (r.alerted) results.push('alerted');
    if (r.logged) results.push('logged');
    r.results = results.length ? results : ['none'];
  }
  return [...byName.values()].sort((a, b) => (a.control < b.control ? -1 : a.control > b.control ? 1 : 0));
}

/** The strongest result of a control: blocked, then alerted, then logged, else none. */
export function strongestResult(r: Pick<ControlResult, 'results'>): ControlResultValue {
  return r.results[0] ?? 'none';
}
