/**
 * The log tailer with the nginx and auditd formats (log-tailer.test.ts covers ModSecurity): a
 * real file, appended to while the tailer runs on its own timer, with a line split across two
 * writes, a line of another format, a rotation by rename, and restarts on a reopened SQLite file.
 * What is checked is what is stored: each line's normalised signal (source, time, labels, run id
 * from the user-agent token, an X-Bulwark-Run header on a command line or a canary), its
 * evidence and ledger entry, and that nothing is stored twice.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
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
const RUN2 = 'q3w8e5t1y6u0';
/** auditd writes a value with a space, a quote or a control character as hex. */
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

let dir: TmpDir;
let dbFile: string;
let store: Store;
let ingest: SignalIngest;
const errors: string[] = [];
const tailers: LogTailer[] = [];

async function openAll(): Promise<void> {
  store = await openSqliteStore(dbFile);
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test' };
  ingest = createSignalIngest(deps);
}

async function closeAll(): Promise<void> {
  for (const t of tailers.splice(0)) await t.stop();
  await ingest.close();
  await store.close();
}

beforeEach(async () => {
  dir = await tmpDir('bulwark-tailer-formats-');
  dbFile = path.join(dir.path, 'bulwark.db');
  errors.length = 0;
  await openAll();
});
afterEach(async () => {
  await closeAll();
  await dir.cleanup();
});

/** A tailer on its own 20 ms timer, as in a server; resolves after its first read. */
async function follow(file: TailedFile): Promise<LogTailer> {
  const t = startLogTailer({
    files: [file],
    ingest,
    offsets: store.signals,
    clock: systemClock,
    pollMs: 20,
    onError: (e, f) => errors.push(`${path.basename(f)}: ${e.message}`),
  });
  tailers.push(t);
  await t.poll();
  return t;
}

/** Restart as a new process would: the tailer stopped, the database closed and opened again. */
async function restart(file: TailedFile): Promise<LogTailer> {
  await closeAll();
  await openAll();
  return follow(file);
}

async function stored(): Promise<SignalRecord[]> {
  return (await store.signals.list({ limit: 10_000 })).signals.reverse();
}

/** Wait (the tailer's timer does the reading) until `n` signals are stored. */
async function storedCount(n: number, timeoutMs = 10_000): Promise<SignalRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stored();
    if (s.length >= n) return s;
    if (Date.now() > deadline)
      throw new Error(`${s.length} signals stored after ${timeoutMs} ms, expected ${n}; reports: ${errors.join('; ')}`);
    await sleep(20);
  }
}

/** Every stored signal once: no two share a fingerprint, and the ledger has one entry each. */
async function expectEachOnce(): Promise<void> {
  const s = await stored();
  expect(new Set(s.map((x) => x.fingerprint)).size).toBe(s.length);
  const entries = await store.ledger.page({ limit: 10_000, order: 'asc', kind: 'signal.received' });
  expect(entries.map((e) => e.subject).sort()).toEqual(s.map((x) => `signal:${x.id}`).sort());
  expect(await verifyStore(store)).toMatchObject({ ok: true, size: s.length });
}

describe('log tailer: nginx access log', () => {
  // nginx's predefined `combined` format. The run id travels in the user agent or a canary.
  const ua = `127.0.0.1 - - [01/Mar/2026:11:00:03 +0100] "GET /search?q=%27%20OR%201%3D1-- HTTP/1.1" 403 153 "-" "curl/8.5.0 bulwark-run/${RUN}"`;
  const canary = `198.51.100.7 - - [01/Mar/2026:10:00:06 -0500] "GET /api/keys?k=bwk-canary-${RUN2}-awskey HTTP/2.0" 401 0 "-" "python-requests/2.31"`;
  const plain = `203.0.113.9 - alice [01/Mar/2026:10:00:04 +0000] "POST /login HTTP/1.1" 200 512 "https://shop.example/login" "Mozilla/5.0 (X11; Linux x86_64)"`;
  // An error log line: not a format the tailer reads (nginx means the access log).
  const errorLine = `2026/03/01 10:00:07 [error] 2201#2201: *17 open() "/usr/share/nginx/html/.env" failed (2: No such file or directory), client: 203.0.113.9, server: shop, request: "GET /.env HTTP/1.1", host: "shop.example"`;
  const at = (n: number, uri: string, agent = `curl/8.5.0 bulwark-run/${RUN}`) =>
    `127.0.0.1 - - [01/Mar/2026:10:01:${String(n).padStart(2, '0')} +0000] "GET ${uri} HTTP/1.1" 404 0 "-" "${agent}"`;

  it('stores appended lines as signals with their labels and run ids, across a split line, a rotation and restarts', async () => {
    const log = path.join(dir.path, 'access.log');
    const spec: TailedFile = { path: log, format: 'nginx', source: 'edge' };
    // Traffic before the tailer ever ran is not read (it starts at the end, like tail -f).
    writeFileSync(log, `${at(0, '/old')}\n`);
    const t = await follow(spec);

    appendFileSync(log, `${ua}\n${canary}\n`);
    appendFileSync(log, `${errorLine}\n${plain}\n`);
    const first = await storedCount(3);
    expect(first).toHaveLength(3);
    const byUri = (uri: string) => first.find((s) => s.labels.uri === uri);

    expect(byUri('/search?q=%27%20OR%201%3D1--')).toMatchObject({
      source: 'edge',
      time: '2026-03-01T10:00:03.000Z',
      severity: 'info',
      runId: RUN,
      resolved: false,
      labels: {
        client: '127.0.0.1',
        method: 'GET',
        uri: '/search?q=%27%20OR%201%3D1--',
        protocol: 'HTTP/1.1',
        status: '403',
        bytes: '153',
        user_agent: `curl/8.5.0 bulwark-run/${RUN}`,
      },
    });
    expect(Object.keys(byUri('/search?q=%27%20OR%201%3D1--')!.labels).sort()).toEqual(
      ['bytes', 'client', 'method', 'protocol', 'status', 'uri', 'user_agent'].sort(),
    );
    expect(byUri(`/api/keys?k=bwk-canary-${RUN2}-awskey`)).toMatchObject({
      source: 'edge',
      time: '2026-03-01T15:00:06.000Z',
      runId: RUN2,
      labels: { status: '401', protocol: 'HTTP/2.0', user_agent: 'python-requests/2.31' },
    });
    const login = byUri('/login');
    expect(login).toMatchObject({ labels: { user: 'alice', method: 'POST', referer: 'https://shop.example/login', status: '200' } });
    expect(login!.runId).toBeUndefined();
    // The evidence is the line itself, as text; the ledger entry is the tailer's.
    const ev = await store.signals.getEvidence(byUri('/search?q=%27%20OR%201%3D1--')!.rawDigest);
    expect(ev).toMatchObject({ mediaType: 'text/plain; charset=utf-8' });
    expect(ev!.bytes.toString('utf8')).toBe(ua);
    const entries = await store.ledger.page({ limit: 100, order: 'asc', kind: 'signal.received' });
    expect(new Set(entries.map((e) => actorLabel(decodeActor(e.actor))))).toEqual(new Set(['tailer:edge']));
    // The error log line was skipped and reported, and the line after it was read.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^access\.log: 1 line\(s\) are not nginx lines and were skipped; first at byte \d+: not an nginx combined log line/,
    );

    // A line written in two pieces: nothing until its newline, then one signal.
    const split = at(8, '/admin');
    appendFileSync(log, split.slice(0, 40));
    await t.poll();
    await t.poll();
    expect(await stored()).toHaveLength(3);
    appendFileSync(log, `${split.slice(40)}\n`);
    const afterSplit = await storedCount(4);
    expect(afterSplit.find((s) => s.labels.uri === '/admin')).toMatchObject({ runId: RUN, time: '2026-03-01T10:01:08.000Z' });
    expect(errors).toHaveLength(1);

    // logrotate: a last line in the old file, renamed, a new file at the path. Both are read.
    appendFileSync(log, `${at(10, '/before-rotation')}\n`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, `${at(11, '/new-file-1')}\n`);
    appendFileSync(log, `${at(12, '/new-file-2')}\n`);
    const rotated = await storedCount(7);
    expect(rotated.map((s) => s.labels.uri).filter((u) => ['/before-rotation', '/new-file-1', '/new-file-2'].includes(u!))).toHaveLength(3);

    // Stopped; a line written meanwhile; started again on the reopened database: only that line is new.
    await t.stop();
    appendFileSync(log, `${at(13, '/while-stopped')}\n`);
    const again = await restart(spec);
    const afterRestart = await storedCount(8);
    await again.poll();
    expect((await stored()).map((s) => s.labels.uri).sort()).toEqual(
      [
        '/search?q=%27%20OR%201%3D1--',
        `/api/keys?k=bwk-canary-${RUN2}-awskey`,
        '/login',
        '/admin',
        '/before-rotation',
        '/new-file-1',
        '/new-file-2',
        '/while-stopped',
      ].sort(),
    );
    expect(afterRestart).toHaveLength(8);
    await expectEachOnce();

    // A crash between the commit and saving the offset: the file is read again from 0, and every
    // line read again is a duplicate.
    await again.stop();
    const saved = (await store.signals.fileOffset(log))!;
    await store.signals.saveFileOffset(log, { inode: saved.inode, offset: 0 }, new Date().toISOString());
    const reread = await restart(spec);
    await reread.poll();
    expect((await store.signals.fileOffset(log))!.offset).toBe(saved.offset);
    expect(await stored()).toHaveLength(8);
    await expectEachOnce();
    expect(errors).toHaveLength(1);
  });
});

describe('log tailer: auditd', () => {
  const execId = '1772359210.500:4601';
  const syscall = `type=SYSCALL msg=audit(${execId}): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c2a1b2c0 a1=55d0c2a1b3f0 a2=55d0c2a1b500 a3=0 items=2 ppid=1201 pid=1402 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" subj=unconfined key="bulwark-exec"`;
  // curl -sS -H 'X-Bulwark-Run: RUN' …: the header's value holds a space, so auditd writes it in hex.
  const execve = `type=EXECVE msg=audit(${execId}): argc=5 a0="curl" a1="-sS" a2="-H" a3=${hex(`X-Bulwark-Run: ${RUN}`)} a4="http://127.0.0.1:8080/admin"`;
  const proctitle = `type=PROCTITLE msg=audit(${execId}): proctitle=${hex(`curl\0-sS\0-A\0curl/8.5.0 bulwark-run/${RUN}`)}`;
  const canaryPath = `type=PATH msg=audit(1772359211.000:4602): item=0 name="/srv/shop/bwk-canary-${RUN2}-conf" inode=393219 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`;
  const userAuth = `node=shop-1 type=USER_AUTH msg=audit(1772359212.456:4610): pid=2201 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:authentication grantors=? acct="root" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed'`;
  const login = (serial: number) =>
    `type=USER_LOGIN msg=audit(1772359300.000:${serial}): pid=2300 uid=0 auid=1000 ses=7 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=? addr=198.51.100.7 terminal=/dev/pts/1 res=success'`;

  it('stores appended records as signals with their labels and run ids, across a split record, a rotation and restarts', async () => {
    const log = path.join(dir.path, 'audit.log');
    const spec: TailedFile = { path: log, format: 'auditd', startAt: 'beginning' };
    // startAt beginning: what is in the file before the first start is read too.
    writeFileSync(log, `${syscall}\n`);
    const t = await follow(spec);
    expect(await stored()).toHaveLength(1);

    appendFileSync(log, `${execve}\n${proctitle}\n`);
    appendFileSync(log, `${canaryPath}\nnot an audit record\n`);
    const first = await storedCount(4);
    expect(first).toHaveLength(4);
    const byType = (type: string) => first.filter((s) => s.labels.type === type);

    const [sys] = byType('SYSCALL');
    expect(sys).toMatchObject({
      source: 'auditd',
      time: '2026-03-01T10:00:10.500Z',
      severity: 'info',
      labels: { type: 'SYSCALL', audit_id: execId, syscall: '59', comm: 'curl', exe: '/usr/bin/curl', key: 'bulwark-exec', uid: '0' },
    });
    expect(sys!.runId).toBeUndefined();
    // The same event's records share audit_id; the hex-encoded header and command line are decoded.
    expect(byType('EXECVE')[0]).toMatchObject({ runId: RUN, labels: { audit_id: execId, a3: `X-Bulwark-Run: ${RUN}`, argc: '5' } });
    expect(byType('PROCTITLE')[0]).toMatchObject({
      runId: RUN,
      labels: { audit_id: execId, proctitle: `curl -sS -A curl/8.5.0 bulwark-run/${RUN}` },
    });
    expect(byType('PATH')[0]).toMatchObject({
      runId: RUN2,
      time: '2026-03-01T10:00:11.000Z',
      labels: { name: `/srv/shop/bwk-canary-${RUN2}-conf`, nametype: 'NORMAL' },
    });
    const ev = await store.signals.getEvidence(byType('EXECVE')[0]!.rawDigest);
    expect(ev).toMatchObject({ mediaType: 'text/plain; charset=utf-8' });
    expect(ev!.bytes.toString('utf8')).toBe(execve);
    const entries = await store.ledger.page({ limit: 100, order: 'asc', kind: 'signal.received' });
    expect(new Set(entries.map((e) => actorLabel(decodeActor(e.actor))))).toEqual(new Set(['tailer:auditd']));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^audit\.log: 1 line\(s\) are not auditd lines and were skipped; first at byte \d+: not an auditd record/);

    // A record written in two pieces (auditd's write cut mid-record): one signal, once complete.
    appendFileSync(log, userAuth.slice(0, 70));
    await t.poll();
    await t.poll();
    expect(await stored()).toHaveLength(4);
    appendFileSync(log, `${userAuth.slice(70)}\n`);
    const auth = (await storedCount(5)).find((s) => s.labels.type === 'USER_AUTH');
    expect(auth).toMatchObject({
      time: '2026-03-01T10:00:12.456Z',
      labels: {
        node: 'shop-1',
        audit_id: '1772359212.456:4610',
        pid: '2201',
        op: 'PAM:authentication',
        acct: 'root',
        exe: '/usr/sbin/sshd',
        addr: '203.0.113.9',
        res: 'failed',
      },
    });
    expect(auth!.runId).toBeUndefined();

    // auditd's own rotation (rename to audit.log.1, a new audit.log): both are read.
    appendFileSync(log, `${login(4700)}\n`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, `${login(4701)}\n${login(4702)}\n`);
    const rotated = await storedCount(8);
    expect(
      rotated
        .filter((s) => s.labels.type === 'USER_LOGIN')
        .map((s) => s.labels.audit_id)
        .sort(),
    ).toEqual(['1772359300.000:4700', '1772359300.000:4701', '1772359300.000:4702'].sort());

    // Stopped, one record meanwhile, restarted on the reopened database: only it is new.
    await t.stop();
    appendFileSync(log, `${login(4703)}\n`);
    const again = await restart(spec);
    await storedCount(9);
    await again.poll();
    expect(await stored()).toHaveLength(9);
    await expectEachOnce();

    // The offset lost (a crash between commit and save): the re-read records are duplicates.
    await again.stop();
    const saved = (await store.signals.fileOffset(log))!;
    await store.signals.saveFileOffset(log, { inode: saved.inode, offset: 0 }, new Date().toISOString());
    const reread = await restart(spec);
    await reread.poll();
    expect(await stored()).toHaveLength(9);
    await expectEachOnce();
    expect(errors).toHaveLength(1);
  });
});
