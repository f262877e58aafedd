/**
 * The run writer on its own thread, over a real SQLite file opened by this thread too: writes
 * commit durably through the thread's connection, a lost lease is answered false, an error
 * reaches its own caller with its type, and the ledger stays one intact sequence while both
 * connections append.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError } from '../core/errors.ts';
import type { NewEntry } from '../core/ledger/entry.ts';
import { verifyStore } from '../app/ledger/verify.ts';
import type { RunWriter } from '../app/experiments/runner/run-writes.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';
import type { Store } from '../store/store.ts';
import type { RunRecord } from '../store/experiments/port.ts';
import { tmpDir, type TmpDir } from '../../test/support/tmp.ts';
import { ensureOrigin } from '../app/bootstrap.ts';
import { systemClock } from '../app/deps.ts';
import { memoryKeyRing } from '../app/ledger/key-ring.ts';
import { createSignalIngest, evidenceOf } from '../app/signals/ingest.ts';
import { makeSignal } from '../core/signals/signal.ts';
import { startSqliteWriteThread, type SqliteWriteThread } from './sqlite-write-thread.ts';
import { systemActor } from '../core/ledger/actor.ts';

const row = (id: string, owner = 'host:1:aaaa'): RunRecord => ({
  id,
  experiment: 'run writer thread',
  state: 'running',
  outcome: null,
  reason: null,
  startedAt: new Date().toISOString(),
  endedAt: null,
  leaseOwner: owner,
  leaseUntil: new Date(Date.now() + 60_000).toISOString(),
  rollbacks: [{ type: 'action', name: 'restore' }],
  journal: { title: 'run writer thread', steps: [1, 2, 3] },
  ttdMs: null,
  dryRun: false,
});
const entry = (id: string, kind: 'note.observation' | 'run.started' | 'run.finished'): NewEntry => ({
  actor: systemActor('test'),
  kind,
  subject: `run:${id}`,
  data:
    kind === 'note.observation'
      ? { text: id }
      : kind === 'run.started'
        ? { run: id, experiment: 'e', techniques: [], targets: [] }
        : { run: id, experiment: 'e', outcome: 'missed', reason: 'r', expectationsMet: false, ttdMs: null, injections: 0, detections: 0 },
});

let dir: TmpDir;
let store: Store | undefined;
let thread: SqliteWriteThread | undefined;
afterEach(async () => {
  await thread?.close();
  thread = undefined;
  await store?.close();
  await dir?.cleanup();
  store = undefined;
});

async function open(): Promise<{ store: Store; writer: RunWriter; file: string }> {
  dir = await tmpDir('bulwark-run-writer-');
  const file = path.join(dir.path, 'bulwark.db');
  store = await openSqliteStore(file);
  thread = await startSqliteWriteThread(file);
  return { store, writer: thread.runWriter, file };
}

describe('SQLite write thread: run writes', () => {
  it('commits runs and their ledger entries through its own connection, 40 runs at once', async () => {
    const { store, writer } = await open();
    const ids = Array.from({ length: 40 }, (_, i) => `threadrun${String(i).padStart(7, '0')}`);
    // Meanwhile this thread appends too: both connections write the one ledger.
    const local = (async () => {
      for (let i = 0; i < 20; i++) await store.ledger.append([entry(`local${i}`, 'note.observation')], new Date().toISOString());
    })();
    await Promise.all(
      ids.map(async (id) => {
        expect(await writer.write({ runId: id, insert: row(id), entries: [entry(id, 'run.started')] })).toBe(true);
        const update = {
          runId: id,
          owner: 'host:1:aaaa',
          patch: { state: 'done' as const, outcome: 'prevented' },
          entries: [entry(id, 'run.finished')],
        };
        expect(await writer.write(update, { lazy: true })).toBe(true);
      }),
    );
    await local;
    for (const id of ids) {
      const r = await store.runs.get(id);
      expect(r?.state).toBe('done');
      expect(r?.outcome).toBe('prevented');
      expect(r?.journal).toEqual({ title: 'run writer thread', steps: [1, 2, 3] });
    }
    const report = await verifyStore(store);
    expect(report.ok, report.message).toBe(true);
    expect(report.size).toBe(40 * 2 + 20);
  });

  it('answers false for a write whose lease another owner holds, and changes nothing', async () => {
    const { store, writer } = await open();
    expect(await writer.write({ runId: 'leaserun00000001', insert: row('leaserun00000001'), entries: [] })).toBe(true);
    const before = (await store.ledger.head()).size;
    const held = await writer.write({
      runId: 'leaserun00000001',
      owner: 'host:2:bbbb',
      patch: { state: 'done' },
      entries: [entry('x', 'run.finished')],
    });
    expect(held).toBe(false);
    expect((await store.runs.get('leaserun00000001'))?.state).toBe('running');
    expect((await store.ledger.head()).size).toBe(before);
  });

  it('renews the leases its owner holds in one call, and answers false for the others', async () => {
    const { store, writer } = await open();
    await writer.write({ runId: 'leasemine0000001', insert: row('leasemine0000001'), entries: [] });
    await writer.write({ runId: 'leasemine0000002', insert: row('leasemine0000002'), entries: [] });
    await writer.write({ runId: 'leasetheirs00001', insert: row('leasetheirs00001', 'host:2:bbbb'), entries: [] });
    const until = new Date(Date.now() + 600_000).toISOString();
    expect(await writer.renewLeases('host:1:aaaa', ['leasemine0000001', 'leasetheirs00001', 'leasemine0000002'], until)).toEqual([
      true,
      false,
      true,
    ]);
    expect((await store.runs.get('leasemine0000002'))?.leaseUntil).toBe(until);
    expect((await store.runs.get('leasetheirs00001'))?.leaseUntil).not.toBe(until);
  });

  it('gives an error to its own caller, with its type, and the others commit', async () => {
    const { store, writer } = await open();
    const good = writer.write({ runId: 'goodrun000000001', insert: row('goodrun000000001'), entries: [entry('g', 'run.started')] });
    const bad = writer.write({
      runId: 'badrun0000000001',
      insert: row('badrun0000000001'),
      entries: [{ actor: systemActor('test'), kind: 'run.started', subject: 'run:bad', data: { password: 'hunter2' } }],
    });
    await expect(good).resolves.toBe(true);
    const err = await bad.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid');
    expect((err as Error).message).toMatch(/secrets never enter the ledger/);
    expect(await store.runs.get('badrun0000000001')).toBeUndefined();
    expect((await store.runs.get('goodrun000000001'))?.state).toBe('running');
  });

  it('refuses writes once closed, and a file that does not exist at start', async () => {
    const { writer: w } = await open();
    await w.close();
    await expect(w.write({ runId: 'late000000000001', insert: row('late000000000001'), entries: [] })).rejects.toThrow(/shutting down/);
    await expect(startSqliteWriteThread(path.join(dir.path, 'missing.db'))).rejects.toThrow(/no database at/);
  });
});

describe('SQLite write thread: signals', () => {
  it('commits signal batches with their evidence and ledger entries, announcing each once', async () => {
    const { store } = await open();
    const base = { store, clock: systemClock, keys: memoryKeyRing(), origin: await ensureOrigin(store) };
    const ingest = createSignalIngest(base, { commit: (subs) => thread!.commitSignals(subs) });
    const announced: string[] = [];
    ingest.bus.on('signal', (s) => announced.push(s.id));
    const payload = (i: number) => Buffer.from(JSON.stringify({ alert: 'sqli', n: i }));
    const submit = (i: number) =>
      ingest.ingest({
        actor: systemActor('token:test'),
        items: [
          {
            signal: makeSignal({
              source: 'waf',
              time: new Date().toISOString(),
              receivedAt: new Date().toISOString(),
              severity: 'medium',
              labels: { n: String(i) },
              body: { n: i },
              dedup: { kind: 'webhook-id', id: `alert-${i}` },
            }),
            raw: evidenceOf(payload(i), 'application/json'),
          },
        ],
      });
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => submit(i)));
    expect(first.every((r) => r.accepted === 1)).toBe(true);
    // Resends are duplicates: nothing written, nothing announced again.
    const again = await Promise.all(Array.from({ length: 5 }, (_, i) => submit(i)));
    expect(again.every((r) => r.duplicates === 1 && r.accepted === 0)).toBe(true);
    await ingest.close();
    expect(announced).toHaveLength(30);
    const stored = await store.signals.getEvidence(evidenceOf(payload(3), 'application/json').digest);
    expect(stored && Buffer.from(stored.bytes).equals(payload(3))).toBe(true);
    const report = await verifyStore(store);
    expect(report.ok, report.message).toBe(true);
    expect((await store.ledger.page({ limit: 100, order: 'asc', kind: 'signal.received' })).length).toBe(30);
  });

  it('refuses a batch nested too deeply to hand over as invalid, and commits the next one', async () => {
    const { store } = await open();
    let body: unknown = 1;
    for (let i = 0; i < 20_000; i++) body = [body];
    const sub = (b: unknown, id: string) => ({
      actor: systemActor('token:test'),
      items: [
        {
          signal: makeSignal({
            source: 'waf',
            time: new Date().toISOString(),
            receivedAt: new Date().toISOString(),
            severity: 'medium' as const,
            labels: {},
            body: b,
            dedup: { kind: 'webhook-id' as const, id },
          }),
          raw: evidenceOf(Buffer.from(id), 'application/json'),
        },
      ],
    });
    await expect(thread!.commitSignals([sub(body, 'deep')])).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/nests too deeply/),
    });
    const [ok] = await thread!.commitSignals([sub({ n: 1 }, 'flat')]);
    expect(ok!.accepted).toBe(1);
    expect((await store.ledger.page({ limit: 10, order: 'asc', kind: 'signal.received' })).length).toBe(1);
  });
});
