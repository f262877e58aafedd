/**
 * "A 2xx means durable": kill -9 the server while clients are appending notes, restart it on
 * the same files, and every note that was acknowledged must be there, at the seq it was given,
 * with its text; the ledger must verify (through the API and with the CLI).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { api, describeRun, runCli, startServer, type RunningServer } from '../support/cli.ts';
import { killAllChildren } from '../support/processes.ts';
import { tmpDir, type TmpDir } from '../support/tmp.ts';

const CLIENTS = 4;
/** How long the clients write before the kill. */
const RUN_MS = 1500;
/** Bounds on the loop whatever the speed of the machine. */
const MAX_PER_CLIENT = 3000;
const REQUEST_TIMEOUT_MS = 5000;

interface Ack {
  seq: number;
  text: string;
}

type EntryView = { seq: number; subject: string; kind: string; data: { text?: string } };

let dir: TmpDir | undefined;
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL', 5000).catch(() => undefined);
  await killAllChildren();
  await dir?.cleanup();
});

describe('a server killed with SIGKILL mid-write loses no acknowledged note', () => {
  it('keeps every 2xx note at its seq with its text after a restart, and the ledger verifies', { timeout: 120_000 }, async () => {
    dir = await tmpDir('bulwark-crash-');
    const first = await startServer({ dir: dir.path, expectToken: true, checkpointInterval: 1 });
    servers.push(first);
    const token = first.token!;

    const acked: Ack[] = [];
    const failures = new Map<string, number>();
    const count = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
    let stop = false;
    const deadline = Date.now() + RUN_MS + 10_000;

    const client = async (c: number) => {
      for (let k = 0; k < MAX_PER_CLIENT && !stop && Date.now() < deadline; k++) {
        const text = `c${c}-n${k}`;
        try {
          const res = await fetch(`${first.url}/v1/ledger/notes`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'observation', subject: 'crash', text }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          const raw = await res.text();
          if (res.status >= 200 && res.status < 300) {
            // Acknowledged only when the whole answer arrived: that is what a client can rely on.
            const body = JSON.parse(raw) as EntryView;
            expect(body.data.text).toBe(text);
            acked.push({ seq: body.seq, text });
          } else {
            count(`status ${res.status}`);
          }
        } catch {
          // In flight when the process died: not acknowledged, so either outcome is allowed.
          count('no answer');
          if (stop) break;
        }
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    await sleep(RUN_MS);
    stop = true;
    const exit = await first.stop('SIGKILL');
    await Promise.all(clients);

    expect(exit.signal).toBe('SIGKILL');
    expect(acked.length, `too few notes acknowledged to mean anything (${JSON.stringify([...failures])})`).toBeGreaterThan(20);
    // Answers other than 201 before the kill would be a finding of their own, except load
    // shedding's 503: eight clients writing as fast as they can may saturate the loop, and a
    // refusal acknowledges nothing, so it does not weaken what is checked here.
    expect([...failures.keys()].filter((k) => k !== 'no answer' && k !== 'status 503')).toEqual([]);
    // An unclean stop: SQLite's write-ahead log was not folded back into the database.
    const db = path.join(dir.path, 'bulwark.db');
    expect(existsSync(`${db}-wal`) && statSync(`${db}-wal`).size > 0).toBe(true);

    // No two acknowledgements share a seq.
    expect(new Set(acked.map((a) => a.seq)).size).toBe(acked.length);

    const second = await startServer({ dir: dir.path, checkpointInterval: 1 });
    servers.push(second);
    expect(second.token, 'a restart must not mint another admin token').toBeUndefined();

    const log = new Map<number, EntryView>();
    let from: number | null = 0;
    while (from !== null) {
      const page: { status: number; body: { entries: EntryView[]; next: number | null } } = await api(
        second,
        'GET',
        `/v1/ledger/entries?from=${from}&limit=1000&order=asc`,
        { token },
      );
      expect(page.status).toBe(200);
      for (const e of page.body.entries) log.set(e.seq, e);
      from = page.body.next;
    }
    const missing = acked.filter((a) => {
      const e = log.get(a.seq);
      return !e || e.subject !== 'crash' || e.kind !== 'note.observation' || e.data.text !== a.text;
    });
    expect(missing, `${missing.length} of ${acked.length} acknowledged notes are not where they were acknowledged`).toEqual([]);
    // And nothing was written twice.
    const texts = [...log.values()].filter((e) => e.subject === 'crash').map((e) => e.data.text);
    expect(new Set(texts).size).toBe(texts.length);

    const verify = await api(second, 'GET', '/v1/ledger/verify', { token, timeoutMs: 30_000 });
    expect(verify.status).toBe(200);
    expect(verify.body, verify.body.message).toMatchObject({ ok: true });

    const stopped = await second.stop('SIGTERM');
    expect(stopped.code, second.stderr()).toBe(0);
    const cli = await runCli(['ledger', 'verify', '--db', `sqlite:${db}`, '--data-dir', dir.path]);
    expect(cli.code, describeRun(cli)).toBe(0);
    expect(cli.stdout).toMatch(/intact/);
  });
});
