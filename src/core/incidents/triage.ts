/**
 * Triage: which signals and finished runs open a case, and which join one already open. The first
 * rule whose match is true takes the item; its group key (the values of the rule's groupBy
 * fields) and window decide whether it joins the open case of that rule and key (seen within the
 * window) or opens a new one. So a storm of alerts with one key is one case. A resolved alert
 * joins its case (the resolution is recorded) and never opens one. Pure: the caller gives the
 * open groups and applies the decisions.
 */
import type { Severity } from '../signals/severity.ts';
import type { TriageRule } from './settings.ts';
import { matches, type TriageRun, type TriageSignal } from './triage-cel.ts';

export type TriageItem =
  { kind: 'signal'; ref: string; at: string; signal: TriageSignal } | { kind: 'run'; ref: string; at: string; run: TriageRun };

/** An open case as triage sees it. */
export interface OpenGroup {
  caseId: number;
  rule: string;
  groupKey: string;
  lastSeenAt: string;
}

export type TriageDecision =
  | { action: 'skip' }
  | { action: 'open'; rule: string; groupKey: string; severity: Severity; title: string }
  /** Join an open case, or the case an earlier item of the same batch opens (`opened`: its index). */
  | { action: 'join'; rule: string; groupKey: string; target: { caseId: number } | { opened: number } };

/** The group key of an item under a rule: its groupBy values, as JSON (an absent label is ""). */
export function groupKey(rule: Pick<TriageRule, 'groupBy'>, item: TriageItem): string {
  const values = rule.groupBy.map((field) => {
    if (item.kind === 'run') return field === 'experiment' ? item.run.experiment : field === 'outcome' ? item.run.outcome : '';
    if (field === 'source') return item.signal.source;
    if (field === 'severity') return item.signal.severity;
    if (field.startsWith('labels.')) return item.signal.labels[field.slice(7)] ?? '';
    return '';
  });
  return JSON.stringify(values);
}

function severityOf(rule: TriageRule, item: TriageItem): Severity {
  const key = item.kind === 'signal' ? item.signal.severity : item.run.outcome;
  return Object.hasOwn(rule.severity.map, key) ? rule.severity.map[key]! : rule.severity.default;
}

function titleOf(rule: TriageRule, item: TriageItem): string {
  const values = JSON.parse(groupKey(rule, item)) as string[];
  const shown = values.filter((v) => v !== '');
  return (shown.length > 0 ? `${rule.title}: ${shown.join(' / ')}` : rule.title).slice(0, 300);
}

/** One decision per item, in order. `open` are the cases open now (new or in triage). */
export function triage(rules: readonly TriageRule[], items: readonly TriageItem[], open: readonly OpenGroup[]): TriageDecision[] {
  // The latest open case per rule and key, and when it last saw an item.
  const groups = new Map<string, { target: { caseId: number } | { opened: number }; lastSeenMs: number }>();
  for (const g of open) {
    const k = `${g.rule}\u0000${g.groupKey}`;
    const seen = Date.parse(g.lastSeenAt);
    const before = groups.get(k);
    if (!before || before.lastSeenMs < seen) groups.set(k, { target: { caseId: g.caseId }, lastSeenMs: seen });
  }
  return items.map((item, index): TriageDecision => {
    const rule = rules.find(
      (r) => r.on === item.kind && matches(r.program, item.kind === 'signal' ? { signal: item.signal } : { run: item.run }),
    );
    if (!rule) return { action: 'skip' };
    const key = groupKey(rule, item);
    const k = `${rule.name}\u0000${key}`;
    const at = Date.parse(item.at);
    const g = groups.get(k);
    if (g && at - g.lastSeenMs <= rule.windowMs) {
      g.lastSeenMs = Math.max(g.lastSeenMs, at);
      return { action: 'join', rule: rule.name, groupKey: key, target: g.target };
    }
    if (item.kind === 'signal' && item.signal.resolved) return { action: 'skip' };
    groups.set(k, { target: { opened: index }, lastSeenMs: at });
    return { action: 'open', rule: rule.name, groupKey: key, severity: severityOf(rule, item), title: titleOf(rule, item) };
  });
}
