/**
 * Several processes appending to one ledger at once, as several `bulwark serve` replicas (or a
 * server and a CLI command) do. The store serializes appends across processes (a row lock on the
 * tree head on PostgreSQL, BEGIN IMMEDIATE plus busy_timeout on SQLite), so the log must come
 * out with every entry exactly once, seq 0..N-1 without gaps or forks, and a tree that verifies.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/ledger/verify.ts';
import { openStore } from '../../src/store/open-store.ts';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/postgres.ts';
import { REPO_ROOT, killAllChildren, startGoWorker } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const WORKER = path.join(REPO_ROOT, 'test/support/append-worker.ts');
const PER_WORKER = 200;
const BATCH = 5;
/** Between batches, as a server has between requests: without it one SQLite writer can take the
 * lock again before the other's busy handler wakes up, and the appends would not interleave. */
const PAUSE_MS = 5;
/** Processes that open a brand-new database at the same moment, e.g. replicas starting together. */
const FRESH_TAGS = ['a', 'b', 'c', 'd'];

function startWorker(url: string, tag: string, count: number, openAfterGo = false) {
  const args = [url, String(count), String(BATCH), tag, ...(openAfterGo ? ['open-after-go'] : [])];
  return startGoWorker<{ tag: string; seqs: number[] }>(`worker ${tag}`, WORKER, args, { APPEND_PAUSE_MS: String(PAUSE_MS) });
}

/** Start the workers, release them together, and wait for all of them. */
async function runTogether(url: string, count: number, openAfterGo = false, tags = ['a', 'b']) {
  const workers = tags.map((tag) => startWorker(url, tag, count, openAfterGo));
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.go();
  return Promise.all(workers.map((w) => w.done));
}

/** Everything the log holds, checked entry by entry against what the workers were told. */
async function checkLog(url: string, results: { tag: string; seqs: number[] }[], perWorker: number): Promise<void> {
  const store = await openStore(url);
  try {
    const total = perWorker * results.length;
    const head = await store.ledger.head();
    expect(head.size).toBe(total);

    const seen: number[] = [];
    const byTag = new Map<string, { seq: number; i: number }[]>();
    for await (const { entry, leaf } of store.ledger.scan(0, undefined)) {
      seen.push(entry.seq);
      expect(leaf, `entry ${entry.seq} has no stored leaf`).toBeDefined();
      const { labels } = JSON.parse(entry.dataJson) as { labels: { tag: string; i: string } };
      const list = byTag.get(labels.tag) ?? [];
      list.push({ seq: entry.seq, i: Number(labels.i) });
      byTag.set(labels.tag, list);
    }
    // seq 0..total-1, each once: no gap, no duplicate.
    expect(seen).toEqual(Array.from({ length: total }, (_, k) => k));

    for (const r of results) {
      const mine = byTag.get(r.tag) ?? [];
      // Every entry of the worker is there, once, in the order it appended them ...
      expect(mine.map((e) => e.i)).toEqual(Array.from({ length: perWorker }, (_, k) => k));
      // ... at exactly the seq the store returned to it.
      expect(mine.map((e) => e.seq)).toEqual(r.seqs);
    }

    const report = await verifyStore(store);
    expect(report, report.message).toMatchObject({ ok: true, size: total });
  } finally {
    await store.close();
  }
}

/** How often the writer changes along the log: > 0 means the appends really interleaved. */
function switches(results: { tag: string; seqs: number[] }[]): number {
  const owner: string[] = [];
  for (const r of results) for (const s of r.seqs) owner[s] = r.tag;
  let n = 0;
  for (let k = 1; k < owner.length; k++) if (owner[k] !== owner[k - 1]) n += 1;
  return n;
}

afterAll(async () => {
  await killAllChildren();
});

describe.skipIf(!pgAvailable())('two processes appending to one PostgreSQL ledger', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await killAllChildren();
    await db?.drop();
    db = undefined;
  });

  it('gives every one of 2×200 entries its own seq, 0..399 without gaps, and the tree verifies', { timeout: 60_000 }, async () => {
    db = await createTestDatabase({ migrated: true });
    await (await openStore(db.url)).close(); // migrated beforehand: this test is about appends
    const results = await runTogether(db.url, PER_WORKER);
    // Released together, with a pause between batches: the appends must really have interleaved,
    // or this test would prove nothing about two writers.
    expect(switches(results), 'the two workers never alternated').toBeGreaterThan(0);
    await checkLog(db.url, results, PER_WORKER);
  });

  it('lets four processes open a fresh database at the same moment (migrations race) and append', { timeout: 60_000 }, async () => {
    db = await createTestDatabase({ migrated: true });
    const results = await runTogether(db.url, 10, true, FRESH_TAGS);
    await checkLog(db.url, results, 10);
  });
});

describe('two processes appending to one SQLite file', () => {
  let dir: TmpDir;
  beforeAll(async () => {
    dir = await tmpDir('bulwark-multi-');
  });
  afterAll(async () => {
    await killAllChildren();
    await dir?.cleanup();
  });

  it(
    'gives every one of 2×200 entries its own seq, 0..399 without gaps, and the tree verifies (busy_timeout waits for the lock)',
    { timeout: 60_000 },
    async () => {
      const url = `sqlite:${path.join(dir.path, 'appends.db')}`;
      await (await openStore(url)).close();
      const results = await runTogether(url, PER_WORKER);
      // Released together, with a pause between batches: the appends must really have interleaved,
      // or this test would prove nothing about two writers.
      expect(switches(results), 'the two workers never alternated').toBeGreaterThan(0);
      await checkLog(url, results, PER_WORKER);
    },
  );

  it('lets four processes open a fresh file at the same moment (migrations race) and append', { timeout: 60_000 }, async () => {
    const url = `sqlite:${path.join(dir.path, 'fresh.db')}`;
    // Each migration runs in a BEGIN IMMEDIATE transaction and busy_timeout is set before the
    // switch to WAL, so the losers of the race wait and then find the schema in place.
    const results = await runTogether(url, 10, true, FRESH_TAGS);
    await checkLog(url, results, 10);
  });
});
