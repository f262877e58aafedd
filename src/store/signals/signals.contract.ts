/**
 * The signal repository's part of the store contract (store.contract.ts calls it), so that it
 * runs on SQLite and on a real PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeSignal, type Signal } from '../../core/signals/signal.ts';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { EvidenceRecord, SignalCursor, SignalRecord } from './port.ts';
import { systemActor } from '../../core/ledger/actor.ts';

const digestOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function evidence(text: string): EvidenceRecord {
  const bytes = Buffer.from(text, 'utf8');
  return { digest: digestOf(bytes), mediaType: 'application/json', bytes };
}

/** A signal received `ms` milliseconds after a fixed instant, from `source`, with dedup key `key`. */
function signal(key: string, opts: { source?: string; ms?: number; runId?: string; raw?: EvidenceRecord } = {}): SignalRecord {
  const receivedAt = new Date(Date.UTC(2026, 2, 1, 10, 0, 0) + (opts.ms ?? 0)).toISOString();
  const s = makeSignal({
    source: opts.source ?? 'alertmanager',
    time: '2026-03-01T09:59:00.000Z',
    receivedAt,
    severity: 'high',
    labels: { alertname: 'SqlInjection', rule: '942100' },
    body: { key, nested: { list: [1, 'two', null, true] } },
    dedup: { kind: 'webhook-id', id: key },
    runId: opts.runId,
    resolved: false,
  });
  return { ...s, rawDigest: (opts.raw ?? evidence(`{"key":"${key}"}`)).digest };
}

export function signalRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  describe('signals', () => {
    it('writes a signal once: a resend, in another call or the same one, is a duplicate', async () => {
      const { store } = current();
      const a = signal('a');
      const b = signal('b', { runId: 'r7k2m9x4p1' });
      expect(await store.signals.insertMany([a, b, { ...a, receivedAt: '2026-03-01T11:00:00.000Z' }])).toEqual([true, true, false]);
      expect(await store.signals.insertMany([signal('c'), a, b])).toEqual([true, false, false]);
      expect(await store.signals.insertMany([])).toEqual([]);
      // The first receipt is kept; the resend changed nothing.
      expect(await store.signals.get(a.id)).toEqual(a);
      expect(await store.signals.get(b.id)).toEqual(b);
      expect(await store.signals.get('sig_nope')).toBeUndefined();
    });

    it('keeps the raw payload once, byte for byte', async () => {
      const { store } = current();
      const bytes = Buffer.from([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x3a, 0x31, 0x7d, 0x00, 0xff]);
      const e: EvidenceRecord = { digest: digestOf(bytes), mediaType: 'application/json; charset=utf-8', bytes };
      await store.signals.putEvidence([e, e]);
      await store.signals.putEvidence([{ ...e, mediaType: 'text/plain' }]);
      const got = await store.signals.getEvidence(e.digest);
      expect(got?.mediaType).toBe('application/json; charset=utf-8');
      expect(got?.bytes.equals(bytes)).toBe(true);
      expect(await store.signals.getEvidence('0'.repeat(64))).toBeUndefined();
    });

    it('lists newest first, filtered by source, run and time, in pages that neither skip nor repeat', async () => {
      const { store } = current();
      const all = Array.from({ length: 25 }, (_, i) =>
        // Pairs share a receipt time so the id breaks ties across page boundaries.
        signal(`s${i}`, {
          ms: Math.floor(i / 2) * 1000,
          source: i % 3 === 0 ? 'waf' : 'alertmanager',
          runId: i % 5 === 0 ? 'run0000001' : undefined,
        }),
      );
      await store.signals.insertMany(all);
      const expected = [...all].sort((x, y) =>
        x.receivedAt === y.receivedAt ? (x.id < y.id ? 1 : -1) : x.receivedAt < y.receivedAt ? 1 : -1,
      );
      const seen: string[] = [];
      let cursor: { receivedAt: string; id: string } | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.signals.list({ limit: 4, cursor });
        seen.push(...page.signals.map((s) => s.id));
        cursor = page.next;
        if (!cursor) break;
      }
      expect(seen).toEqual(expected.map((s) => s.id));
      const waf = await store.signals.list({ limit: 100, source: 'waf' });
      expect(waf.signals.map((s) => s.id).sort()).toEqual(
        all
          .filter((s) => s.source === 'waf')
          .map((s) => s.id)
          .sort(),
      );
      expect(waf.next).toBeUndefined();
      const run = await store.signals.list({ limit: 100, runId: 'run0000001' });
      expect(run.signals.map((s) => s.runId)).toEqual(Array(5).fill('run0000001'));
      const since = await store.signals.list({ limit: 100, since: all[20]!.receivedAt });
      expect(since.signals.map((s) => s.id).sort()).toEqual(
        all
          .slice(20)
          .map((s) => s.id)
          .sort(),
      );
      // A closed span [since, until], paged: an older stretch of the signals, both ends included.
      const span: string[] = [];
      let at: SignalCursor | undefined;
      do {
        const page = await store.signals.list({
          limit: 3,
          since: all[4]!.receivedAt,
          until: all[15]!.receivedAt,
          ...(at ? { cursor: at } : {}),
        });
        span.push(...page.signals.map((s) => s.id));
        at = page.next;
      } while (at);
      expect(span.sort()).toEqual(
        all
          .slice(4, 16)
          .map((s) => s.id)
          .sort(),
      );
    });

    it('writes signals and evidence with the ledger entry that records them, or none of it', async () => {
      const { store } = current();
      const raw = evidence('{"rolled":"back"}');
      const s = signal('rolled-back', { raw });
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.signals.insertMany([s])).toEqual([true]);
          await tx.signals.putEvidence([raw]);
          await tx.ledger.append(
            [{ actor: systemActor('test'), kind: 'signal.received', subject: `signal:${s.id}`, data: receivedData(s) }],
            s.receivedAt,
          );
          throw new Error('failed after the writes');
        }),
      ).rejects.toThrow('failed after');
      expect(await store.signals.get(s.id)).toBeUndefined();
      expect(await store.signals.getEvidence(raw.digest)).toBeUndefined();
      expect((await store.ledger.head()).size).toBe(0);
      // Nothing was left behind that would make the retry a duplicate.
      expect(await store.signals.insertMany([s])).toEqual([true]);
    });

    it('answers concurrent inserts of the same signals with exactly one "new" per signal', async () => {
      const { store, fx } = current();
      const other = fx.reopen ? await fx.reopen() : store;
      try {
        const batch = Array.from({ length: 1200 }, (_, i) => signal(`race${i}`));
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 ? other : store).transaction((tx) => tx.signals.insertMany(i % 2 ? [...batch].reverse() : batch)),
          ),
        );
        for (let k = 0; k < batch.length; k++) {
          const news = answers.map((a, i) => a[i % 2 ? batch.length - 1 - k : k]).filter(Boolean);
          expect(news, batch[k]!.id).toHaveLength(1);
        }
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('remembers where the log tailer stopped in each file', async () => {
      const { store } = current();
      expect(await store.signals.fileOffset('/var/log/a.log')).toBeUndefined();
      await store.signals.saveFileOffset('/var/log/a.log', { inode: '1234:5678', offset: 100 }, '2026-03-01T10:00:00.000Z');
      await store.signals.saveFileOffset('/var/log/a.log', { inode: '1234:5678', offset: 2 ** 40 }, '2026-03-01T10:00:01.000Z');
      await store.signals.saveFileOffset('/var/log/b.log', { inode: '1234:9999', offset: 7 }, '2026-03-01T10:00:01.000Z');
      expect(await store.signals.fileOffset('/var/log/a.log')).toEqual({ inode: '1234:5678', offset: 2 ** 40 });
      expect(await store.signals.fileOffset('/var/log/b.log')).toEqual({ inode: '1234:9999', offset: 7 });
    });

    it('backs up and restores signals with their evidence', async () => {
      const { store, fx } = current();
      const raw = evidence('{"backup":true}');
      const s = signal('backed-up', { raw, runId: 'r7k2m9x4p1' });
      await store.signals.insertMany([s]);
      await store.signals.putEvidence([raw]);
      await store.ledger.append(
        [{ actor: systemActor('test'), kind: 'signal.received', subject: `signal:${s.id}`, data: receivedData(s) }],
        s.receivedAt,
      );
      const rows: { table: string; row: Record<string, unknown> }[] = [];
      await store.dump((r) => {
        rows.push(r);
      });
      const target = await fx.fresh();
      try {
        async function* replay() {
          yield* rows;
        }
        await target.restore(replay());
        expect(await target.signals.get(s.id)).toEqual(s);
        expect((await target.signals.getEvidence(raw.digest))?.bytes.equals(raw.bytes)).toBe(true);
      } finally {
        await target.close();
      }
    });
  });
}

/** `signal.received` data as the ingest writes it (the catalogue checks its shape). */
function receivedData(s: Signal) {
  return {
    id: s.id,
    source: s.source,
    fingerprint: s.fingerprint,
    severity: s.severity,
    time: s.time,
    receivedAt: s.receivedAt,
    resolved: s.resolved,
    labels: s.labels,
    runId: s.runId ?? null,
    rawDigest: 'a'.repeat(64),
  };
}
