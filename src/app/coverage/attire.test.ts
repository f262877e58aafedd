/**
 * ATTiRe import against a real SQLite store: the signals matched are those of the log's own span
 * (an older log is matched to the signals of its time, however many came after), and a span with
 * more signals than the cap is refused whole, nothing stored, rather than recorded as missed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { makeSignal } from '../../core/signals/signal.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { importAttire } from './attire.ts';
import { coverageMap } from './coverage.ts';

const SAMPLE = readFileSync(new URL('../../../test/fixtures/attire/attire-1.1-readme-sample.json', import.meta.url), 'utf8');
const START = Date.parse('2021-10-27T02:02:23.000Z');
let dir: TmpDir;
let deps: AppDeps;

function signal(key: string, at: number, host: string) {
  const receivedAt = new Date(at).toISOString();
  const s = makeSignal({
    source: 'alertmanager',
    time: receivedAt,
    receivedAt,
    severity: 'high',
    labels: { alertname: 'Regsvr32Scriptlet', host },
    body: { key },
    dedup: { kind: 'webhook-id', id: key },
    resolved: false,
  });
  return { ...s, rawDigest: '0'.repeat(64) };
}

beforeEach(async () => {
  dir = await tmpDir('bulwark-attire-');
  const store = await openSqliteStore(path.join(dir.path, 'b.db'));
  deps = { store, clock: new ManualClock(Date.parse('2026-03-01T10:00:00.000Z')), keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await deps.store.close();
  await dir.cleanup();
});

describe('importing an older ATTiRe log', () => {
  it('matches the signals of its own span, whatever number came later', async () => {
    await deps.store.signals.insertMany([
      signal('seen', START + 4200, 'WINDEV2009EVAL'),
      // Years of later signals naming the host: none of them is read.
      ...Array.from({ length: 30 }, (_, i) => signal(`later-${i}`, Date.parse('2026-02-01T00:00:00.000Z') + i * 1000, 'WINDEV2009EVAL')),
    ]);
    let read = 0;
    const list = deps.store.signals.list.bind(deps.store.signals);
    deps.store.signals.list = async (q) => {
      const page = await list(q);
      read += page.signals.length;
      return page;
    };
    const r = await importAttire(deps, cliActor('alice'), SAMPLE, { maxSignals: 5 });
    expect(r.runs.map((x) => [x.outcome, x.ttdMs])).toEqual([['detected', 4200]]);
    expect(read).toBe(1);
  });

  it('is refused, nothing stored, when its span holds more signals than the cap', async () => {
    await deps.store.signals.insertMany(Array.from({ length: 6 }, (_, i) => signal(`near-${i}`, START + 10_000 + i, 'web-1')));
    const before = await deps.store.ledger.head();
    await expect(importAttire(deps, cliActor('alice'), SAMPLE, { maxSignals: 5 })).rejects.toThrow(
      /cannot be imported: more than 5 signals were received from 2021-10-27T02:02:23.000Z to 2021-10-27T02:07:23.000Z.*nothing was stored/,
    );
    expect(await deps.store.coverageExternalRuns.list()).toEqual([]);
    expect(await deps.store.ledger.head()).toEqual(before);
  });
});

describe('a deadline for imported runs', () => {
  it('records a detection after the deadline as detected-late, keeps its time to detect, and the map counts it as alerted', async () => {
    await deps.store.signals.insertMany([signal('seen', START + 4200, 'WINDEV2009EVAL')]);
    const r = await importAttire(deps, cliActor('alice'), SAMPLE, { deadlineSeconds: 3 });
    expect(r.deadlineSeconds).toBe(3);
    expect(r.runs.map((x) => [x.outcome, x.ttdMs])).toEqual([['detected-late', 4200]]);
    // Stored as such, with the deadline in its ledger entry.
    expect((await deps.store.coverageExternalRuns.list()).map((x) => x.outcome)).toEqual(['detected-late']);
    const [entry] = await deps.store.ledger.page({ limit: 1, order: 'desc', kind: 'coverage.attire-imported' });
    expect(JSON.parse(entry!.dataJson)).toMatchObject({ deadlineSeconds: 3, runs: [{ outcome: 'detected-late', ttdMs: 4200 }] });
    const cell = (await coverageMap(deps)).cells.find((c) => c.technique === r.runs[0]!.technique)!;
    expect([cell.lastRun?.outcome, cell.evidence, cell.ttd.lastMs]).toEqual(['detected-late', 'alerted', 4200]);
  });

  it('keeps a detection within the deadline detected, and without a deadline every detection in the window is in time', async () => {
    await deps.store.signals.insertMany([signal('seen', START + 4200, 'WINDEV2009EVAL')]);
    expect((await importAttire(deps, cliActor('alice'), SAMPLE, { deadlineSeconds: 5 })).runs[0]!.outcome).toBe('detected');
    // The same log again, without a deadline: left as it was.
    const again = await importAttire(deps, cliActor('alice'), SAMPLE);
    expect([again.deadlineSeconds, again.runs[0]!.outcome, again.runs[0]!.imported]).toEqual([null, 'detected', false]);
  });

  it('refuses a deadline not shorter than the window, naming it, with nothing stored', async () => {
    const before = await deps.store.ledger.head();
    await expect(importAttire(deps, cliActor('alice'), SAMPLE, { windowSeconds: 60, deadlineSeconds: 60 })).rejects.toThrow(
      /deadlineSeconds 60 must be a whole number of seconds from 0 to less than the window \(60\)/,
    );
    expect(await deps.store.coverageExternalRuns.list()).toEqual([]);
    expect(await deps.store.ledger.head()).toEqual(before);
  });
});
