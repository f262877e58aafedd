/**
 * Signals in: normalised signals are written with their raw payload (kept once, as evidence)
 * and one `signal.received` ledger entry per new signal, in one transaction. A resend (same
 * fingerprint) is acknowledged and writes nothing. Concurrent ingests share that transaction
 * (group commit, see ../group-commit.ts); each caller's promise settles only after the commit, so
 * an acknowledgement means durable. New signals are then announced on the bus.
 */
import { createHash } from 'node:crypto';
import { scrubTokens } from '../../core/access/token-format.ts';
import type { Json, NewEntry } from '../../core/ledger/entry.ts';
import type { Signal } from '../../core/signals/signal.ts';
import type { EvidenceRecord, SignalRecord } from '../../store/signals/port.ts';
import { iso, type AppDeps } from '../deps.ts';
import { createBatcher, type Batcher, type BatcherOptions } from '../group-commit.ts';
import { SignalBus } from './signal-bus.ts';
import type { Actor } from '../../core/ledger/actor.ts';

export interface IngestItem {
  signal: Signal;
  /** The payload the signal came in; several signals of one payload share it. */
  raw: EvidenceRecord;
}

/** What one request (or one read of a log file) brings in. */
export interface IngestSubmission {
  /** Who sent it, as the ledger writes it: `token:ID` for the API, `tailer:SOURCE` for a log file. */
  actor: Actor;
  items: readonly IngestItem[];
}

export interface IngestResult {
  /** Signals written now. */
  accepted: number;
  /** Signals already stored (resends), or repeated within the submission. */
  duplicates: number;
  /** Every signal's id, in the order of the submission, new and duplicate alike. */
  ids: string[];
  /** Per item: true when written now. */
  isNew: boolean[];
}

export interface SignalIngest {
  readonly bus: SignalBus;
  /** Resolves after the commit; rejects with `overloaded` when too much is waiting. */
  ingest(submission: IngestSubmission): Promise<IngestResult>;
  /** Take no more; resolves when everything taken is committed. */
  close(): Promise<void>;
}

export type SignalIngestOptions = Partial<Pick<BatcherOptions<IngestSubmission, IngestResult>, 'maxBatch' | 'maxWaitMs' | 'maxQueue'>> & {
  bus?: SignalBus;
  /**
   * Commit a batch somewhere else than on this thread (commitSignals over the same database, e.g.
   * adapters/sqlite-write-thread.ts); by default commitSignals here.
   */
  commit?: (subs: readonly IngestSubmission[]) => Promise<IngestResult[]>;
};

/** The raw bytes of a payload as evidence, keyed by their SHA-256. */
export function evidenceOf(bytes: Buffer, mediaType: string): EvidenceRecord {
  return { digest: createHash('sha256').update(bytes).digest('hex'), mediaType, bytes };
}

export function createSignalIngest(deps: AppDeps, opts: SignalIngestOptions = {}): SignalIngest {
  const bus = opts.bus ?? new SignalBus();
  const batcher: Batcher<IngestSubmission, IngestResult> = createBatcher({
    maxBatch: opts.maxBatch,
    maxWaitMs: opts.maxWaitMs,
    maxQueue: opts.maxQueue,
    what: 'signals',
    weight: (s) => s.items.length,
    run: async (subs) => {
      if (opts.commit) {
        const results = await opts.commit(subs);
        announce(bus, subs, results, recordsOf(subs));
        return results;
      }
      const { results, records } = await commitSignals(deps, subs);
      announce(bus, subs, results, records);
      return results;
    },
  });
  return {
    bus,
    ingest: (submission) => (submission.items.length === 0 ? Promise.resolve(emptyResult()) : batcher.submit(submission)),
    close: () => batcher.close(),
  };
}

/**
 * Write the submissions in one transaction: the signals (skipping stored fingerprints), the
 * payloads the new ones came in, and a ledger entry per new signal. Exported for tests and the
 * benchmark; the API goes through createSignalIngest.
 */
export async function commitSignals(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  subs: readonly IngestSubmission[],
): Promise<{ results: IngestResult[]; records: SignalRecord[][] }> {
  const records = recordsOf(subs);
  const flat = records.flat();
  const now = iso(deps.clock);
  const inserted = await deps.store.transaction(async (tx) => {
    const isNew = await tx.signals.insertMany(flat);
    const needed = new Set(flat.filter((_, i) => isNew[i]).map((r) => r.rawDigest));
    const evidence = subs.flatMap((s) => s.items.map((i) => i.raw)).filter((e) => needed.delete(e.digest));
    await tx.signals.putEvidence(evidence);
    const entries: NewEntry[] = [];
    let k = 0;
    subs.forEach((sub, i) => {
      for (const r of records[i]!) if (isNew[k++]) entries.push(receivedEntry(sub.actor, r));
    });
    await tx.ledger.append(entries, now);
    return isNew;
  });
  let k = 0;
  const results = records.map((rs) => {
    const isNew = rs.map(() => inserted[k++]!);
    const accepted = isNew.filter(Boolean).length;
    return { accepted, duplicates: rs.length - accepted, ids: rs.map((r) => r.id), isNew };
  });
  return { results, records };
}

function recordsOf(subs: readonly IngestSubmission[]): SignalRecord[][] {
  return subs.map((s) => s.items.map(({ signal, raw }): SignalRecord => ({ ...signal, rawDigest: raw.digest })));
}

function announce(bus: SignalBus, subs: readonly IngestSubmission[], results: IngestResult[], records: SignalRecord[][]): void {
  subs.forEach((_, i) => {
    const r = results[i]!;
    records[i]!.forEach((s, j) => {
      if (r.isNew[j]) bus.emit('signal', s);
      else bus.emit('duplicate', { source: s.source, id: s.id, fingerprint: s.fingerprint });
    });
  });
}

function emptyResult(): IngestResult {
  return { accepted: 0, duplicates: 0, ids: [], isNew: [] };
}

/**
 * The ledger entry for a new signal: what identifies it and what matching reads, never the raw
 * payload or the body (the store keeps those, the entry holds their digest).
 */
export function receivedEntry(actor: Actor, s: SignalRecord): NewEntry {
  const { labels, redacted } = ledgerLabels(s.labels);
  const data: { [key: string]: Json } = {
    id: s.id,
    source: s.source,
    fingerprint: s.fingerprint,
    severity: s.severity,
    time: s.time,
    receivedAt: s.receivedAt,
    resolved: s.resolved,
    labels,
    runId: s.runId ?? null,
    rawDigest: s.rawDigest,
  };
  if (redacted.length > 0) data.redactedLabels = redacted;
  return { actor, kind: 'signal.received', subject: `signal:${s.id}`, data };
}

/**
 * Label names that may hold a credential. Broader than the ledger's own refusal list (which this
 * must never trip): labels come from outside, and a refused entry would lose the signal.
 */
const SECRET_LABEL =
  /(^|[_.:-])(token|secret|passw(or)?d|authorization|cookie|session|credentials?|api_?key|private_?key|totp_?seed)s?($|[_.:-])/i;

/**
 * Labels safe for the ledger: those whose name looks secret are left out and only named in
 * `redacted` (a key named `token` is refused by the ledger even with a redacted value), and
 * anything shaped like a Bulwark token is scrubbed from the others.
 */
export function ledgerLabels(labels: Readonly<Record<string, string>>): { labels: Record<string, string>; redacted: string[] } {
  const out: Record<string, string> = {};
  const redacted: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (SECRET_LABEL.test(name)) redacted.push(name);
    else out[name] = scrubTokens(value);
  }
  return { labels: out, redacted };
}
