import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import { systemClock, type AppDeps } from '../deps.ts';
import { memoryKeyRing, trustedFromRecords } from './key-ring.ts';
import { startCheckpointJob } from './checkpoint-job.ts';
import { rotateKey, makeCheckpoint } from './checkpoints.ts';
import { verifyStore } from './verify.ts';
import { filePublisher, webhookPublisher } from '../../adapters/checkpoint-publishers.ts';
import { parseCheckpointNote, verifyCheckpointSignature } from '../../core/ledger/checkpoint.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { systemActor } from '../../core/ledger/actor.ts';

let dir: TmpDir;
let deps: AppDeps;
afterEach(async () => {
  await deps?.store.close();
  await dir?.cleanup();
});

async function setup() {
  dir = await tmpDir('bulwark-cpjob-');
  const store = await openSqliteStore(path.join(dir.path, 'b.db'));
  deps = { store, clock: systemClock, keys: memoryKeyRing(), origin: 'test.local/log' };
  return deps;
}

const append = (d: AppDeps, n: number) =>
  d.store.ledger.append(
    Array.from({ length: n }, (_, i) => ({ actor: systemActor('t'), kind: 'note.comment', subject: 's', data: { text: String(i) } })),
    new Date().toISOString(),
  );

describe('periodic checkpoints', () => {
  it('signs when the log grew, not otherwise, and publishes to a file and a webhook', async () => {
    const d = await setup();
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as { port: number }).port;
    const file = path.join(dir.path, 'published', 'checkpoint.txt');
    const job = startCheckpointJob(d, {
      intervalMs: 50,
      publishers: [filePublisher(file), webhookPublisher(`http://127.0.0.1:${port}/cp`)],
    });
    try {
      await append(d, 3);
      await sleep(300);
      const first = await d.store.ledger.checkpoints();
      expect(first.at(-1)?.size).toBe(4); // three notes and the key registration
      await sleep(200);
      expect(await d.store.ledger.checkpoints()).toHaveLength(first.length);
      await append(d, 2);
      await sleep(300);
      expect((await d.store.ledger.checkpoints()).at(-1)?.size).toBe(6);
      const published = readFileSync(file, 'utf8');
      expect(published).toBe((await d.store.ledger.latestCheckpoint())!.note);
      expect(received.at(-1)).toBe(published);
      const parsed = parseCheckpointNote(published);
      expect(parsed.ok && verifyCheckpointSignature(parsed.value, trustedFromRecords(await d.store.ledger.keys())).ok).toBe(true);
    } finally {
      job.stop();
      hook.close();
    }
  });

  it('keeps old checkpoints verifiable after a key rotation', async () => {
    const d = await setup();
    await append(d, 3);
    const before = (await makeCheckpoint(d)).checkpoint;
    const { oldKeyId, newKeyId } = await rotateKey(d, systemActor('test'));
    expect(oldKeyId).not.toBe(newKeyId);
    await append(d, 2);
    const after = (await makeCheckpoint(d)).checkpoint;
    expect(after.keyId).toBe(newKeyId);
    expect(before.keyId).toBe(oldKeyId);
    const keys = await d.store.ledger.keys();
    expect(keys.find((k) => k.keyId === oldKeyId)?.retiredAt).not.toBeNull();
    expect(await verifyStore(d.store)).toMatchObject({ ok: true, checkpointsChecked: 2 });
    const rotated = await d.store.ledger.page({ kind: 'ledger.key.rotated', limit: 5, order: 'asc' });
    expect(rotated).toHaveLength(1);
  });
});
