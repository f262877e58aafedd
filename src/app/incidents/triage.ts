/**
 * Triage in the server: new signals (`signal.received`) and finished runs (`run.finished`) are
 * read from the ledger after a durable read position, and the rules' decisions (open a case, or
 * join one) are written with their ledger entries and the moved position in one transaction. So a
 * restart neither loses nor repeats an item, and of two servers reading at once one writes (the
 * position moves by compare and set).
 */
import { systemActor } from '../../core/ledger/actor.ts';
import type { NewEntry } from '../../core/ledger/entry.ts';
import { triage, type TriageItem } from '../../core/incidents/triage.ts';
import type { SignalRecord } from '../../store/signals/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { currentSettings, entry, record } from './record.ts';

const SOURCES = [
  { name: 'signals', kind: 'signal.received' },
  { name: 'runs', kind: 'run.finished' },
] as const;

export interface TriageResult {
  /** Entries read (signals and runs). */
  read: number;
  opened: number[];
  grouped: number;
}

const actor = systemActor('triage');

/** Read everything new since the last position, a batch per transaction, and triage it. */
export async function triageOnce(deps: Pick<AppDeps, 'store' | 'clock'>, opts: { batch?: number } = {}): Promise<TriageResult> {
  const batch = opts.batch ?? 500;
  const out: TriageResult = { read: 0, opened: [], grouped: 0 };
  const settings = await currentSettings(deps);
  for (const source of SOURCES) {
    for (;;) {
      const from = await deps.store.incidents.position(source.name);
      const entries = await deps.store.ledger.page({ from, limit: batch, order: 'asc', kind: source.kind });
      if (entries.length === 0) break;
      const items: TriageItem[] = [];
      for (const e of entries) {
        const d = JSON.parse(e.dataJson) as Record<string, unknown>;
        if (source.name === 'signals') {
          const s = await deps.store.signals.get(String(d.id));
          if (s) items.push(signalItem(s));
        } else {
          items.push({
            kind: 'run',
            ref: String(d.run),
            at: e.time,
            run: {
              id: String(d.run),
              experiment: String(d.experiment),
              outcome: String(d.outcome),
              reason: typeof d.reason === 'string' ? d.reason : '',
            },
          });
        }
      }
      const next = entries[entries.length - 1]!.seq + 1;
      const now = iso(deps.clock);
      const done = await deps.store.transaction(async (tx) => {
        if (!(await tx.incidents.advance(source.name, from, next))) return false;
        const open = (await tx.incidents.openCases()).map((c) => ({
          caseId: c.id,
          rule: c.rule,
          groupKey: c.groupKey,
          lastSeenAt: c.lastSeenAt,
        }));
        const decisions = triage(settings.rules, items, open);
        const opened = new Map<number, number>();
        const writes: NewEntry[] = [];
        for (const [k, d] of decisions.entries()) {
          const item = items[k]!;
          const from = { kind: item.kind, id: item.ref };
          const resolved = item.kind === 'signal' && item.signal.resolved;
          if (d.action === 'open') {
            const id = await tx.incidents.nextNumber('case');
            opened.set(k, id);
            await tx.incidents.insertCase({
              id,
              title: d.title,
              state: 'new',
              severity: d.severity,
              rule: d.rule,
              groupKey: d.groupKey,
              openedAt: item.at,
              lastSeenAt: item.at,
              items: 0,
              assignee: null,
              assignedAt: null,
              acknowledgedAt: null,
              acknowledgedBy: null,
              closedAt: null,
              resolution: null,
              incidentId: null,
            });
            await tx.incidents.linkCase(id, { kind: item.kind, ref: item.ref, at: item.at, resolved });
            writes.push(
              entry(actor, 'case.opened', `case:${id}`, {
                case: id,
                rule: d.rule,
                groupKey: d.groupKey.slice(0, 2000),
                severity: d.severity,
                title: d.title,
                from,
              }),
            );
            out.opened.push(id);
          } else if (d.action === 'join') {
            const id = 'caseId' in d.target ? d.target.caseId : opened.get(d.target.opened)!;
            if (await tx.incidents.linkCase(id, { kind: item.kind, ref: item.ref, at: item.at, resolved })) {
              writes.push(entry(actor, 'case.grouped', `case:${id}`, { case: id, from, resolved }));
              out.grouped++;
            }
          }
        }
        await record(tx, writes, now);
        return true;
      });
      if (!done) break; // another server took this batch; the next tick reads on from where it left
      out.read += entries.length;
      if (entries.length < batch) break;
    }
  }
  return out;
}

function signalItem(s: SignalRecord): TriageItem {
  return {
    kind: 'signal',
    ref: s.id,
    at: s.receivedAt,
    signal: {
      id: s.id,
      source: s.source,
      time: s.time,
      receivedAt: s.receivedAt,
      severity: s.severity,
      labels: s.labels,
      body: s.body,
      fingerprint: s.fingerprint,
      resolved: s.resolved,
      runId: s.runId ?? '',
    },
  };
}
