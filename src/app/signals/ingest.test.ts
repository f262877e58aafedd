import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { assertNoSecrets } from '../../core/ledger/entry.ts';
import { makeSignal, type Signal } from '../../core/signals/signal.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Repos, Store } from '../../store/store.ts';
import { systemClock, type AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { verifyStore } from '../ledger/verify.ts';
import { createSignalIngest, evidenceOf, ledgerLabels, receivedEntry } from './ingest.ts';
import { SignalBus } from './signal-bus.ts';
import { actorLabel, decodeActor, systemActor } from '../../core/ledger/actor.ts';

const raw = (text: string) => evidenceOf(Buffer.from(text, 'utf8'), 'application/json');

function signal(key: string, labels: Record<string, string> = { rule: '942100' }): Signal {
  return makeSignal({
    source: 'test',
    time: '2026-03-01T10:00:00.000Z',
    receivedAt: '2026-03-01T10:00:01.000Z',
    severity: 'high',
    labels,
    body: { key, request: { uri: '/search?id=1%27' } },
    dedup: { kind: 'webhook-id', id: key },
    runId: 'r7k2m9x4p1',
  });
}

/** The store, with every transaction counted and, when `failAppend` is set, the ledger append failing inside it. */
function instrumented(store: Store, opts: { failAppend?: boolean } = {}) {
  const stats = { transactions: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return <T>(fn: (tx: Repos) => Promise<T>) => {
        stats.transactions += 1;
        return target.transaction((tx) =>
          fn(
            opts.failAppend
              ? {
                  ...tx,
                  ledger: new Proxy(tx.ledger, {
                    get: (l, p, r) =>
                      p === 'append' ? () => Promise.reject(new Error('ledger append failed')) : (Reflect.get(l, p, r) as unknown),
                  }),
                }
              : tx,
          ),
        );
      };
    },
  });
  return { store: wrapped, stats };
}

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
beforeEach(async () => {
  dir = await tmpDir('bulwark-ingest-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  deps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

describe('signal ingest', () => {
  it('writes new signals, their evidence once, and one ledger entry each; a resend writes nothing', async () => {
    const ingest = createSignalIngest(deps);
    const payload = raw('{"two":"signals"}');
    const a = signal('a');
    const b = signal('b');
    const first = await ingest.ingest({
      actor: systemActor('token:abc'),
      items: [
        { signal: a, raw: payload },
        { signal: b, raw: payload },
        { signal: a, raw: payload },
      ],
    });
    expect(first).toEqual({ accepted: 2, duplicates: 1, ids: [a.id, b.id, a.id], isNew: [true, true, false] });
    expect(await store.signals.get(a.id)).toEqual({ ...a, rawDigest: payload.digest });
    expect((await store.signals.getEvidence(payload.digest))?.bytes.toString()).toBe('{"two":"signals"}');
    const entries = await store.ledger.page({ limit: 10, order: 'asc' });
    expect(entries.map((e) => [e.kind, e.subject, actorLabel(decodeActor(e.actor))])).toEqual([
      ['signal.received', `signal:${a.id}`, 'token:abc'],
      ['signal.received', `signal:${b.id}`, 'token:abc'],
    ]);
    expect(JSON.parse(entries[0]!.dataJson)).toEqual({
      id: a.id,
      source: 'test',
      fingerprint: a.fingerprint,
      severity: 'high',
      time: a.time,
      receivedAt: a.receivedAt,
      resolved: false,
      labels: { rule: '942100' },
      runId: 'r7k2m9x4p1',
      rawDigest: payload.digest,
    });
    expect(entries[0]!.dataJson).not.toContain('/search');

    // A resend carrying different bytes: acknowledged, and not even its evidence is kept.
    const resend = raw('{"two":"signals","resent":true}');
    expect(await ingest.ingest({ actor: systemActor('token:abc'), items: [{ signal: a, raw: resend }] })).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
    expect(await store.signals.getEvidence(resend.digest)).toBeUndefined();
    expect((await store.ledger.head()).size).toBe(2);
    await ingest.close();
  });

  it('commits signals and ledger entries together or not at all', async () => {
    const failing = instrumented(store, { failAppend: true });
    const ingest = createSignalIngest({ ...deps, store: failing.store });
    const s = signal('atomic');
    const payload = raw('{"atomic":1}');
    await expect(ingest.ingest({ actor: systemActor('system'), items: [{ signal: s, raw: payload }] })).rejects.toThrow(
      'ledger append failed',
    );
    expect(await store.signals.get(s.id)).toBeUndefined();
    expect(await store.signals.getEvidence(payload.digest)).toBeUndefined();
    // Nothing half-written stands in the way of the retry.
    const retry = createSignalIngest(deps);
    expect(await retry.ingest({ actor: systemActor('system'), items: [{ signal: s, raw: payload }] })).toMatchObject({ accepted: 1 });
    await Promise.all([ingest.close(), retry.close()]);
  });

  it('shares one transaction among concurrent ingests, and settles each only after the commit', async () => {
    const counted = instrumented(store);
    const ingest = createSignalIngest({ ...deps, store: counted.store }, { maxWaitMs: 5 });
    const heard: string[] = [];
    ingest.bus.on('signal', (s) => heard.push(s.id));
    const signals = Array.from({ length: 100 }, (_, i) => signal(`c${i}`));
    const results = await Promise.all(
      signals.map(async (s) => {
        const r = await ingest.ingest({ actor: systemActor('system'), items: [{ signal: s, raw: raw(`{"i":"${s.id}"}`) }] });
        // Settled means committed: visible to a reader outside the transaction.
        expect(await store.signals.get(s.id)).toBeDefined();
        return r;
      }),
    );
    expect(results.every((r) => r.accepted === 1)).toBe(true);
    expect(counted.stats.transactions).toBeLessThanOrEqual(3);
    expect(heard.sort()).toEqual(signals.map((s) => s.id).sort());
    expect(await verifyStore(store)).toMatchObject({ ok: true, size: 100 });
    await ingest.close();
  });

  it('keeps a listener that throws from failing the ingest or the other listeners', async () => {
    const errors: unknown[] = [];
    const ingest = createSignalIngest(deps, { bus: new SignalBus((e) => errors.push(e)) });
    const heard: string[] = [];
    ingest.bus.on('signal', () => {
      throw new Error('listener bug');
    });
    ingest.bus.on('signal', (s) => heard.push(s.id));
    const s = signal('listener');
    expect(await ingest.ingest({ actor: systemActor('system'), items: [{ signal: s, raw: raw('{}') }] })).toMatchObject({ accepted: 1 });
    expect(heard).toEqual([s.id]);
    expect(errors).toHaveLength(1);
    await ingest.close();
  });
});

describe('the ledger entry of a signal', () => {
  it('leaves out labels named like secrets and scrubs token-shaped values, so the ledger never refuses it', () => {
    const { labels, redacted } = ledgerLabels({
      token: 'x',
      Authorization: 'Bearer y',
      session_cookie: 'z',
      db_password: 'p',
      api_key: 'k',
      rule: '942100',
      note: 'leaked bwk_abcdefghijkl_SECRETSECRETSECRET',
    });
    expect(redacted).toEqual(['token', 'Authorization', 'session_cookie', 'db_password', 'api_key']);
    expect(labels).toEqual({ rule: '942100', note: 'leaked bwk_[REDACTED]' });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            fc.string({ minLength: 1, maxLength: 20 }),
            fc.constantFrom(
              'token',
              'Secret',
              'PASSWORD',
              'passwd',
              'private_key',
              'PrivateKey',
              'totp_seed',
              'authorization',
              'api_key',
              'ApiKey',
            ),
          ),
          fc.string({ maxLength: 30 }),
          { maxKeys: 10 },
        ),
        (l) => {
          const s = { ...signal('prop', {}), labels: l, rawDigest: '0'.repeat(64) };
          expect(() => assertNoSecrets(receivedEntry(systemActor('system'), s).data)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});
