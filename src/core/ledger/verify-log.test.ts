import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rawPublicKey, signCheckpoint } from './checkpoint.ts';
import { leafInput, type StoredEntry } from './entry.ts';
import { CompactRange, leafHash } from './merkle.ts';
import { LogVerifier } from './verify-log.ts';

const k = generateKeyPairSync('ed25519');
const trustedKeys = [{ name: 'k', publicKey: rawPublicKey(k.publicKey) }];
const entries: StoredEntry[] = Array.from({ length: 10 }, (_, i) => ({
  seq: i,
  time: 't',
  actor: 'a',
  kind: 'k',
  subject: 's',
  dataJson: `{"i":${i}}`,
}));
const leaves = entries.map((e) => leafHash(leafInput(e)));
function checkpointAt(size: number) {
  const c = new CompactRange();
  leaves.slice(0, size).forEach((l) => c.push(l));
  return signCheckpoint({ origin: 'o', size, root: c.root(), extensions: [] }, 'k', k.privateKey, k.publicKey);
}

function run(list: StoredEntry[], stored = leaves, checkpoints = [checkpointAt(5), checkpointAt(10)]) {
  const v = new LogVerifier({ checkpoints, trustedKeys });
  list.forEach((e) => v.push(e, stored[e.seq]));
  return v.finish();
}

describe('LogVerifier', () => {
  it('passes an intact log and counts what it checked', () => {
    expect(run(entries)).toMatchObject({ ok: true, entriesChecked: 10, checkpointsChecked: 2 });
  });

  it('names an altered entry', () => {
    const list = entries.map((e) => (e.seq === 3 ? { ...e, dataJson: '{"i":33}' } : e));
    expect(run(list).firstBad?.seq).toBe(3);
  });

  it('names a deleted entry', () => {
    expect(run(entries.filter((e) => e.seq !== 6)).firstBad).toMatchObject({ seq: 6, reason: expect.stringContaining('deleted') });
  });

  it('names the tail that a signed checkpoint covers but the log lost', () => {
    expect(run(entries.slice(0, 8)).firstBad).toMatchObject({ seq: 8 });
  });

  it('catches an entry rewritten together with its stored leaf, through the signed checkpoint', () => {
    const list = entries.map((e) => (e.seq === 7 ? { ...e, dataJson: '{"i":77}' } : e));
    const stored = list.map((e) => leafHash(leafInput(e)));
    const r = run(list, stored);
    expect(r.ok).toBe(false);
    expect(r.firstBad?.seq).toBe(5);
    expect(r.firstBad?.reason).toContain('checkpoint at size 10');
  });

  it('rejects a checkpoint signed by an untrusted key', () => {
    const other = generateKeyPairSync('ed25519');
    const forged = signCheckpoint(
      { origin: 'o', size: 10, root: checkpointAt(10).root, extensions: [] },
      'k',
      other.privateKey,
      other.publicKey,
    );
    expect(run(entries, leaves, [forged]).ok).toBe(false);
  });
});

describe('LogVerifier.pushLeaf (leaf hashed by the caller)', () => {
  const runBoth = (list: StoredEntry[], stored = leaves) => {
    const byEntry = run(list, stored);
    const v = new LogVerifier({ checkpoints: [checkpointAt(5), checkpointAt(10)], trustedKeys });
    list.forEach((e) => v.pushLeaf(e.seq, leafHash(leafInput(e)), stored[e.seq]));
    return [byEntry, v.finish()];
  };

  it('gives the report push gives, intact or not', () => {
    const altered = entries.map((e) => (e.seq === 3 ? { ...e, dataJson: '{"i":33}' } : e));
    const swapped = [...entries.slice(0, 2), entries[4]!, entries[3]!, entries[2]!, ...entries.slice(5)];
    for (const list of [entries, altered, swapped, entries.filter((e) => e.seq !== 6), entries.slice(0, 8), [...entries, entries[9]!]]) {
      const [a, b] = runBoth(list);
      expect(b).toEqual(a);
    }
    const [a, b] = runBoth(entries, leaves.slice(0, 9));
    expect(a!.ok).toBe(true);
    expect(b).toEqual(a);
  });
});
