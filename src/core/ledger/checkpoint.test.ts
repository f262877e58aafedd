import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkpointBody,
  noteKeyId,
  parseCheckpointNote,
  rawPublicKey,
  signCheckpoint,
  verifierKey,
  verifyCheckpointSignature,
} from './checkpoint.ts';

const keys = () => generateKeyPairSync('ed25519');
const root = Buffer.alloc(32, 0xab);

describe('signed-note checkpoints', () => {
  it('round-trips through the note text and verifies with the signing key only', () => {
    const k = keys();
    const other = keys();
    const signed = signCheckpoint(
      { origin: 'example.com/log', size: 42, root, extensions: ['time 2026-01-01T00:00:00.000Z'] },
      'signer',
      k.privateKey,
      k.publicKey,
    );
    expect(
      signed.note.startsWith('example.com/log\n42\n' + root.toString('base64') + '\ntime 2026-01-01T00:00:00.000Z\n\n\u2014 signer '),
    ).toBe(true);
    const parsed = parseCheckpointNote(signed.note);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.size).toBe(42);
    expect(parsed.value.root.equals(root)).toBe(true);
    expect(verifyCheckpointSignature(parsed.value, [{ name: 'signer', publicKey: rawPublicKey(k.publicKey) }]).ok).toBe(true);
    expect(verifyCheckpointSignature(parsed.value, [{ name: 'signer', publicKey: rawPublicKey(other.publicKey) }]).ok).toBe(false);
  });

  it('rejects a note whose size or root was changed after signing', () => {
    const k = keys();
    const trusted = [{ name: 'signer', publicKey: rawPublicKey(k.publicKey) }];
    const signed = signCheckpoint({ origin: 'o', size: 7, root, extensions: [] }, 'signer', k.privateKey, k.publicKey);
    const grown = parseCheckpointNote(signed.note.replace('\n7\n', '\n8\n'));
    expect(grown.ok && verifyCheckpointSignature(grown.value, trusted).ok).toBe(false);
    const reRooted = parseCheckpointNote(signed.note.replace(root.toString('base64'), Buffer.alloc(32, 1).toString('base64')));
    expect(reRooted.ok && verifyCheckpointSignature(reRooted.value, trusted).ok).toBe(false);
  });

  it('uses the signed-note key id: SHA-256(name, newline, 0x01, key)[:4]', () => {
    const raw = Buffer.alloc(32, 3);
    expect(noteKeyId('n', raw)).toHaveLength(4);
    expect(verifierKey('n', raw)).toMatch(/^n\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
  });

  it('refuses bodies that would be ambiguous', () => {
    expect(() => checkpointBody({ origin: 'a\nb', size: 1, root, extensions: [] })).toThrow();
  });

  it('parses any input without throwing, and explains every rejection', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.array(fc.constantFrom('o', '1', root.toString('base64'), '', '\u2014 k AAAAAAAA', 'x y')).map((l) => l.join('\n')),
        ),
        (text) => {
          const r = parseCheckpointNote(text);
          if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
