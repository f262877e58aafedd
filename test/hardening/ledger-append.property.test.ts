/**
 * Whatever text an entry carries, the ledger stays verifiable. For arbitrary strings (any UTF-16
 * code unit: lone surrogates, NUL, noncharacters, bidi and combining marks, emoji) in the actor,
 * kind, subject and data (keys and values, any JSON shape), an append either is refused with a
 * DomainError of code `invalid`, or is stored so that the entry reads back exactly as appended
 * and hashes to its stored leaf, and full verification of the ledger passes. Kinds are arbitrary
 * or from the event catalogue (with data its schema accepts, odd text put into one of its
 * strings), so that appends get past the catalogue and reach the database. The same through the
 * one use case that appends what a person typed (notes). Against SQLite, and against PostgreSQL
 * when the test run has one (never skipped under CI=true).
 */
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type AppDeps } from '../../src/app/deps.ts';
import { makeCheckpoint } from '../../src/app/ledger/checkpoints.ts';
import { memoryKeyRing } from '../../src/app/ledger/key-ring.ts';
import { addNote, NoteInput, NOTE_TYPES } from '../../src/app/ledger/notes.ts';
import { verifyStore } from '../../src/app/ledger/verify.ts';
import type { Principal } from '../../src/core/access/permissions.ts';
import { DomainError } from '../../src/core/errors.ts';
import { LEDGER_EVENTS } from '../../src/capabilities/index.ts';
import { fromStored, leafText, type Json, type NewEntry } from '../../src/core/ledger/entry.ts';
import { leafHashOfText } from '../../src/core/ledger/merkle.ts';
import { parseInput } from '../../src/core/validate.ts';
import { openPostgresStore } from '../../src/store/postgres/open-postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestDatabase, pgAvailable, skipReasonPg, type TestDatabase } from '../support/postgres.ts';
import { anyCodeUnit, anyUtf16String, jsonPaths, oddText, replaceAt, schemaArbitrary } from '../support/schema-arbitrary.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';
import { ACTOR_HOW, type ActorValue } from '../../src/core/ledger/actor.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_102);

/** Text of every kind: any code units, odd strings alone or in ordinary text, plain text. */
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: anyUtf16String({ maxLength: 24 }) },
  { weight: 2, arbitrary: oddText },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
);
/** Non-empty text, for fields a note requires. */
const someText = text.filter((s) => s.length > 0);

/** JSON values whose strings (keys included) are made of any UTF-16 code units. */
const data: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3, stringUnit: anyCodeUnit }),
  fc.dictionary(text, fc.oneof(text, fc.jsonValue({ maxDepth: 1, stringUnit: anyCodeUnit })), { maxKeys: 4 }),
) as fc.Arbitrary<Json>;

/** A catalogued kind with data its schema accepts, and `odd` put into one of its strings (if it has any). */
const catalogued: fc.Arbitrary<{ kind: string; data: Json }> = fc
  .constantFrom(...LEDGER_EVENTS.kinds)
  .chain((kind) => fc.tuple(fc.constant(kind), schemaArbitrary(LEDGER_EVENTS.definition(kind)!.data), fc.nat(), text, fc.boolean()))
  .map(([kind, generated, n, odd, append]) => {
    const strings = jsonPaths(generated).filter((p) => typeof p.value === 'string');
    if (strings.length === 0) return { kind, data: generated as Json };
    const at = strings[n % strings.length]!;
    return { kind, data: replaceAt(generated, at.path, (old) => (append ? `${String(old)}${odd}` : odd)) as Json };
  });

const entry: fc.Arbitrary<NewEntry> = fc
  .tuple(
    fc.record({
      // Every text field of a structured actor carries the arbitrary text in turn.
      actor: fc.tuple(text, fc.constantFrom('id', 'token', 'request'), fc.constantFrom(...ACTOR_HOW)).map(([t, field, how]) => ({
        id: field === 'id' ? t : 'someone',
        kind: 'person' as const,
        how,
        ...(field === 'id' ? {} : { [field]: t }),
      })),
      subject: text,
    }),
    fc.oneof({ weight: 3, arbitrary: catalogued }, { weight: 1, arbitrary: fc.record({ kind: text, data }) }),
  )
  .map(([who, what]) => ({ ...who, ...what }));

const note = fc.record(
  {
    type: fc.constantFrom(...NOTE_TYPES),
    subject: someText,
    text: someText,
    labels: fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,10}$/), text, { maxKeys: 3 }),
  },
  { requiredKeys: ['type', 'subject', 'text'] },
);

const principal = (tokenId: string): Principal => ({
  id: 'person:fuzz',
  name: 'fuzz',
  kind: 'person',
  tokenId,
  tokenName: 'fuzz',
  scopes: ['ledger:write'],
});

/** The entry at `seq` reads back as appended, and its stored text hashes to its stored leaf. */
async function readsBack(store: Store, seq: number, appended: { actor: ActorValue; kind: string; subject: string; data: Json }) {
  let found = false;
  for await (const rows of store.ledger.scanRows(seq, seq + 1)) {
    for (const row of rows) {
      found = true;
      const leaf = Buffer.from(row.tree).subarray(0, 32);
      expect(leafHashOfText(leafText(row)).equals(leaf), `entry ${seq}: its stored text no longer gives its stored leaf hash`).toBe(true);
      const back = fromStored(row);
      expect({ actor: back.actor, kind: back.kind, subject: back.subject, data: back.data }).toEqual(appended);
    }
  }
  expect(found, `entry ${seq} is not stored`).toBe(true);
}

function refusedAsInvalid(e: unknown): void {
  if (!(e instanceof DomainError) || e.code !== 'invalid') {
    throw new Error(`refused, but not as invalid input: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  }
}

function ledgerProperties(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`${name}: arbitrary text in ledger entries`, () => {
    let store: Store;
    let opened: { store: Store; close(): Promise<void> };
    let deps: AppDeps;
    /** Once a verification has failed, later cases can only be judged by their own entries. */
    let broken = false;
    /** Appends that were stored (not refused), per property: neither property may be vacuous. */
    const stored = { store: 0, notes: 0 };

    beforeAll(async () => {
      opened = await open();
      store = opened.store;
      deps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'bulwark.test/fuzz' };
    });
    afterAll(async () => {
      await opened.close();
    });

    /** The appended entry reads back, and (unless an earlier case broke it) the whole ledger verifies. */
    async function holds(seq: number, appended: { actor: ActorValue; kind: string; subject: string; data: Json }) {
      try {
        await readsBack(store, seq, appended);
      } catch (e) {
        // This entry stays in the ledger: from now on only each case's own entry can be judged.
        broken = true;
        throw e;
      }
      if (broken) return;
      const report = await verifyStore(store);
      if (!report.ok) {
        broken = true;
        throw new Error(`the ledger no longer verifies: ${report.message}`);
      }
    }

    it('appending through the store: refused as invalid, or stored so that it reads back and verifies', async () => {
      await fc.assert(
        fc.asyncProperty(entry, async (e) => {
          let seq: number;
          try {
            seq = (await store.ledger.append([e], systemClock.now().toISOString()))[0]!.seq;
          } catch (err) {
            return refusedAsInvalid(err);
          }
          await holds(seq, e);
          stored.store += 1;
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('appending a note through its use case: refused as invalid, or stored so that it reads back and verifies', async () => {
      await fc.assert(
        fc.asyncProperty(note, text, async (raw, tokenId) => {
          let appended;
          try {
            appended = await addNote(deps, principal(tokenId), parseInput(NoteInput, raw, 'note'));
          } catch (err) {
            return refusedAsInvalid(err);
          }
          await holds(appended.seq, { actor: appended.actor, kind: appended.kind, subject: appended.subject, data: appended.data });
          expect(appended).toMatchObject({ actor: { token: tokenId, how: 'api' }, kind: `note.${raw.type}`, subject: raw.subject });
          expect(appended.data).toEqual({ text: raw.text, ...(raw.labels ? { labels: raw.labels } : {}) });
          stored.notes += 1;
        }),
        { seed: SEED + 1, numRuns: RUNS },
      );
    });

    it('stored some of them (neither property is vacuous), and the whole ledger verifies with a checkpoint on it', async () => {
      expect(stored.store, 'appends through the store that were stored').toBeGreaterThan(RUNS / 10);
      expect(stored.notes, 'notes that were stored').toBeGreaterThan(RUNS / 10);
      await makeCheckpoint(deps);
      const report = await verifyStore(store);
      expect(report, report.message).toMatchObject({ ok: true, checkpointsChecked: 1 });
    });
  });
}

ledgerProperties('sqlite', async () => {
  const dir: TmpDir = await tmpDir('bulwark-ledger-fuzz-');
  const store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  return {
    store,
    close: async () => {
      await store.close();
      await dir.cleanup();
    },
  };
});

describe.skipIf(!pgAvailable())(`postgres (${pgAvailable() ? 'real server' : skipReasonPg})`, () => {
  ledgerProperties('postgres', async () => {
    const db: TestDatabase = await createTestDatabase({ migrated: true });
    const store = await openPostgresStore(db.url);
    return {
      store,
      close: async () => {
        await store.close();
        await db.drop();
      },
    };
  });
});
