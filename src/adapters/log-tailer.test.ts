import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tmpDir, type TmpDir } from '../../test/support/tmp.ts';
import { systemClock, type AppDeps } from '../app/deps.ts';
import { memoryKeyRing } from '../app/ledger/key-ring.ts';
import { verifyStore } from '../app/ledger/verify.ts';
import { createSignalIngest, type SignalIngest } from '../app/signals/ingest.ts';
import { openSqliteStore } from '../store/sqlite/open-sqlite.ts';
import type { Store } from '../store/store.ts';
import type { SignalRecord } from '../store/signals/port.ts';
import { startLogTailer, type LogTailer, type TailedFile } from './log-tailer.ts';
import { actorLabel, decodeActor } from '../core/ledger/actor.ts';

const RUN = 'r7k2m9x4p1';

/** One ModSecurity v3 JSON audit entry (CRS 3.3, nginx connector) as it writes it: one line. */
function modsecLine(n: number, run = RUN): string {
  return JSON.stringify({
    transaction: {
      client_ip: '127.0.0.1',
      time_stamp: 'Sun Mar  1 10:00:03 2026',
      server_id: '4bd4ba0c1d0a0c4a0a6c4c0e5a1d3b9a1a1e0f3c',
      client_port: 51234 + n,
      host_ip: '127.0.0.1',
      host_port: 8080,
      unique_id: `17408232031${n}.345678`,
      request: {
        method: 'GET',
        http_version: 1.1,
        uri: `/search?id=${n}%27%20OR%20%271%27%3D%271`,
        headers: { Host: '127.0.0.1:8080', 'User-Agent': 'curl/8.5.0', Accept: '*/*', 'X-Bulwark-Run': run, Cookie: 'session=s3cr3t' },
      },
      response: { http_code: 403, headers: { Server: 'nginx', 'Content-Type': 'text/html' } },
      producer: {
        modsecurity: 'ModSecurity v3.0.9 (Linux)',
        connector: 'ModSecurity-nginx v1.0.3',
        secrules_engine: 'Enabled',
        components: ['OWASP_CRS/3.3.4"'],
      },
      messages: [
        {
          message: 'SQL Injection Attack Detected via libinjection',
          details: {
            match: 'detected SQLi using libinjection.',
            reference: 'v14,23',
            ruleId: '942100',
            file: '/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf',
            lineNumber: '45',
            data: "Matched Data: s&sos found within ARGS:id: 1' OR '1'='1",
            severity: '2',
            ver: 'OWASP_CRS/3.3.4',
            rev: '',
            tags: ['application-multi', 'language-multi', 'platform-multi', 'attack-sqli', 'paranoia-level/1', 'OWASP_CRS'],
            maturity: '0',
            accuracy: '0',
          },
        },
        {
          message: 'Inbound Anomaly Score Exceeded (Total Score: 5)',
          details: {
            ruleId: '949110',
            severity: '2',
            tags: ['attack-generic'],
            data: '',
            match: '',
            reference: '',
            file: '',
            lineNumber: '80',
          },
        },
      ],
    },
  });
}

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
let ingest: SignalIngest;
let log: string;
const errors: string[] = [];
const tailers: LogTailer[] = [];

beforeEach(async () => {
  dir = await tmpDir('bulwark-tailer-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  deps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test' };
  ingest = createSignalIngest(deps);
  log = path.join(dir.path, 'modsec_audit.log');
  errors.length = 0;
});
afterEach(async () => {
  for (const t of tailers.splice(0)) await t.stop();
  await ingest.close();
  await store.close();
  await dir.cleanup();
});

/**
 * A tailer that polls only when asked (the timer is far away), so each step is deterministic;
 * resolves once its first read (at start) is done, as a running server's would be.
 */
async function tail(
  files: TailedFile[] = [{ path: log, format: 'modsecurity', source: 'waf' }],
  opts: { pollMs?: number; maxLineBytes?: number } = {},
): Promise<LogTailer> {
  const t = startLogTailer({
    files,
    ingest,
    offsets: store.signals,
    clock: systemClock,
    pollMs: 3_600_000,
    ...opts,
    onError: (e) => errors.push(e.message),
  });
  tailers.push(t);
  await t.poll();
  return t;
}

const ids = async () => (await stored()).map((s) => s.labels.unique_id).sort();
const uids = (...ns: number[]) => ns.map((n) => `17408232031${n}.345678`).sort();

async function stored(): Promise<SignalRecord[]> {
  return (await store.signals.list({ limit: 10_000 })).signals.reverse();
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${modsecLine(from + i)}\n`).join('');

describe('log tailer', () => {
  it('turns appended ModSecurity lines into signals that carry the run id, with their ledger entries', async () => {
    writeFileSync(log, '');
    const t = await tail();
    await t.poll();
    appendFileSync(log, lines(0, 3));
    await t.poll();
    const s = (await stored()).sort((a, b) => (a.labels.unique_id! < b.labels.unique_id! ? -1 : 1));
    expect(s).toHaveLength(3);
    expect(s[0]).toMatchObject({ source: 'waf', runId: RUN, severity: 'critical', labels: { rule: '942100', status: '403' } });
    expect(JSON.stringify(s[0]!.body)).not.toContain('s3cr3t');
    const ev = await store.signals.getEvidence(s[0]!.rawDigest);
    expect(ev?.bytes.toString('utf8')).toBe(modsecLine(0));
    const entries = await store.ledger.page({ limit: 100, order: 'asc', kind: 'signal.received' });
    expect(entries.map((e) => actorLabel(decodeActor(e.actor)))).toEqual(['tailer:waf', 'tailer:waf', 'tailer:waf']);
    expect(await verifyStore(store)).toMatchObject({ ok: true, size: 3 });
  });

  it('follows the file on its own timer', async () => {
    writeFileSync(log, '');
    await tail(undefined, { pollMs: 20 });
    await sleep(50);
    appendFileSync(log, lines(0, 2));
    for (let i = 0; i < 100 && (await stored()).length < 2; i++) await sleep(20);
    expect(await stored()).toHaveLength(2);
  });

  it('continues where it stopped after a restart, without duplicates', async () => {
    writeFileSync(log, '');
    const first = await tail();
    appendFileSync(log, lines(0, 2));
    await first.poll();
    await first.stop();
    appendFileSync(log, lines(2, 4));
    const second = await tail();
    await second.poll();
    expect(await ids()).toEqual(uids(0, 1, 2, 3));
    expect((await store.ledger.head()).size).toBe(4);
  });

  it('dedups lines read again when the offset was not saved (a crash between commit and save)', async () => {
    writeFileSync(log, lines(0, 3));
    const t = await tail([{ path: log, format: 'modsecurity', startAt: 'beginning' }]);
    await t.poll();
    await t.stop();
    await store.signals.saveFileOffset(log, { inode: (await store.signals.fileOffset(log))!.inode, offset: 0 }, new Date().toISOString());
    const again = await tail([{ path: log, format: 'modsecurity' }]);
    await again.poll();
    expect(await stored()).toHaveLength(3);
    expect((await store.ledger.head()).size).toBe(3);
  });

  it('waits for the end of a partial line', async () => {
    writeFileSync(log, '');
    const t = await tail();
    const line = modsecLine(7);
    appendFileSync(log, line.slice(0, 100));
    await t.poll();
    expect(await stored()).toHaveLength(0);
    appendFileSync(log, `${line.slice(100)}\n`);
    await t.poll();
    expect(await ids()).toEqual(uids(7));
    expect(errors).toEqual([]);
  });

  it('reads the rotated file to its end, then the new file from its start', async () => {
    writeFileSync(log, lines(0, 1));
    const t = await tail([{ path: log, format: 'modsecurity', startAt: 'beginning' }]);
    await t.poll();
    // Written just before the rotation, not yet read: must not be lost.
    appendFileSync(log, lines(1, 2));
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(2, 4));
    await t.poll();
    expect(await ids()).toEqual(uids(0, 1, 2, 3));
    appendFileSync(log, lines(4, 5));
    await t.poll();
    expect(await stored()).toHaveLength(5);
  });

  it('starts again from 0 after a copytruncate rotation, and when the file was rotated while stopped', async () => {
    writeFileSync(log, lines(0, 2));
    const t = await tail([{ path: log, format: 'modsecurity', startAt: 'beginning' }]);
    await t.poll();
    truncateSync(log, 0);
    await t.poll();
    appendFileSync(log, lines(2, 3));
    await t.poll();
    expect(await stored()).toHaveLength(3);
    await t.stop();
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(3, 4));
    const restarted = await tail();
    await restarted.poll();
    expect(await stored()).toHaveLength(4);
  });

  it('starts at the end of a file it never read, unless told to start at the beginning; a file created later is read whole', async () => {
    writeFileSync(log, lines(0, 2));
    const other = path.join(dir.path, 'later.log');
    const t = await tail([
      { path: log, format: 'modsecurity' },
      { path: other, format: 'modsecurity', source: 'later' },
    ]);
    await t.poll();
    expect(await stored()).toHaveLength(0);
    writeFileSync(other, lines(10, 12));
    appendFileSync(log, lines(2, 3));
    await t.poll();
    expect((await stored()).map((s) => `${s.source} ${s.labels.unique_id}`).sort()).toEqual([
      'later 1740823203110.345678',
      'later 1740823203111.345678',
      'modsecurity 174082320312.345678',
    ]);
  });

  it("reads ModSecurity's zone-less time in the writer's UTC offset", async () => {
    writeFileSync(log, lines(0, 1));
    await tail([{ path: log, format: 'modsecurity', startAt: 'beginning', utcOffsetMinutes: 60 }]);
    expect((await stored())[0]?.time).toBe('2026-03-01T09:00:03.000Z');
  });

  it('reports lines it cannot parse and carries on', async () => {
    writeFileSync(log, '');
    const t = await tail([{ path: log, format: 'modsecurity' }], { maxLineBytes: 20_000 });
    appendFileSync(log, `not json\n\n${'x'.repeat(30_000)}\n${lines(0, 1)}`);
    appendFileSync(log, Buffer.from([0xff, 0xfe, 0x0a]));
    await t.poll();
    expect(await stored()).toHaveLength(1);
    expect(errors.join('\n')).toMatch(/longer than 20000 bytes/);
    expect(errors.join('\n')).toMatch(/2 line\(s\) are not modsecurity lines.*not JSON/);
  });
});
