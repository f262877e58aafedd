/**
 * The export format (JSON lines), verifiable on another machine without the database:
 *   {"type":"header","format":"bulwark-ledger-export/1","origin":…,"from":N,"size":M}
 *   {"type":"prefix","size":N,"hashes":[hex…]}         compact range of [0, N), when N > 0
 *   {"type":"entry","seq":…,"time":…,"actor":…,"kind":…,"subject":…,"data":…}   one per entry
 *   {"type":"key","keyId":…,"name":…,"publicKey":base64}                        every signing key
 *   {"type":"checkpoint","note":"…signed note…"}                                the latest one
 * The entries run up to the latest checkpoint, so the export is bound by a signature.
 */
import { invalid } from '../../core/errors.ts';
import { parseCheckpointNote, type SignedCheckpoint, type TrustedKey } from '../../core/ledger/checkpoint.ts';
import { canonicalJson, type StoredEntry } from '../../core/ledger/entry.ts';
import { frontierNodes, nodeKey } from '../../core/ledger/merkle.ts';
import { LogVerifier, type VerifyReport } from '../../core/ledger/verify-log.ts';
import type { Store } from '../../store/store.ts';
import { actorLeafJson } from '../../core/ledger/actor.ts';

export const EXPORT_FORMAT = 'bulwark-ledger-export/1';

export async function* exportLedger(store: Store, from = 0): AsyncIterable<string> {
  const cp = await store.ledger.latestCheckpoint();
  if (!cp) throw invalid('the ledger has no checkpoint yet; make one with "bulwark ledger checkpoint"');
  if (!(Number.isSafeInteger(from) && from >= 0 && from <= cp.size)) throw invalid(`--from must be between 0 and ${cp.size}`);
  const parsed = parseCheckpointNote(cp.note);
  const origin = parsed.ok ? parsed.value.origin : '';
  yield JSON.stringify({ type: 'header', format: EXPORT_FORMAT, origin, from, size: cp.size });
  if (from > 0) {
    const ids = frontierNodes(from);
    const nodes = await store.ledger.nodes(ids);
    yield JSON.stringify({ type: 'prefix', size: from, hashes: ids.map((n) => nodes.get(nodeKey(n))!.toString('hex')) });
  }
  for await (const { entry } of store.ledger.scan(from, cp.size)) {
    yield `{"type":"entry","seq":${entry.seq},"time":${JSON.stringify(entry.time)},"actor":${actorLeafJson(entry.actor)},"kind":${JSON.stringify(entry.kind)},"subject":${JSON.stringify(entry.subject)},"data":${entry.dataJson}}`;
  }
  for (const k of await store.ledger.keys()) yield JSON.stringify({ type: 'key', keyId: k.keyId, name: k.name, publicKey: k.publicKey });
  yield JSON.stringify({ type: 'checkpoint', note: cp.note });
}

export interface ExportVerifyOptions {
  trustedKeys?: TrustedKey[];
  external?: SignedCheckpoint;
}

/** Verify an export from its lines. Keys in the file are used unless keys are pinned. */
export async function verifyExport(lines: AsyncIterable<string>, opts: ExportVerifyOptions = {}): Promise<VerifyReport> {
  let lineNo = 0;
  let header: { from: number; size: number } | undefined;
  let prefix: { size: number; hashes: Buffer[] } | undefined;
  const entries: StoredEntry[] = [];
  const keys: TrustedKey[] = [];
  const checkpoints: SignedCheckpoint[] = [];
  const fail = (why: string): never => {
    throw invalid(`export line ${lineNo}: ${why}`);
  };
  for await (const raw of lines) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return fail('is not JSON');
    }
    if (rec === null || typeof rec !== 'object') fail('is not a JSON object');
    switch (rec.type) {
      case 'header':
        if (rec.format !== EXPORT_FORMAT) fail(`unknown format ${String(rec.format)}; expected ${EXPORT_FORMAT}`);
        if (!Number.isSafeInteger(rec.from) || !Number.isSafeInteger(rec.size)) fail('header needs integer from and size');
        header = { from: rec.from as number, size: rec.size as number };
        break;
      case 'prefix': {
        const hashes = Array.isArray(rec.hashes) ? rec.hashes : fail('prefix needs hashes');
        if (!hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) fail('prefix hashes must be 64 hex digits');
        if (!Number.isSafeInteger(rec.size) || frontierNodes(rec.size as number).length !== hashes.length)
          fail('prefix size and hashes disagree');
        prefix = { size: rec.size as number, hashes: hashes.map((h) => Buffer.from(h as string, 'hex')) };
        break;
      }
      case 'entry': {
        const { seq, time, actor, kind, subject, data } = rec;
        if (
          !Number.isSafeInteger(seq) ||
          typeof time !== 'string' ||
          (typeof actor !== 'string' && (typeof actor !== 'object' || actor === null || Array.isArray(actor))) ||
          typeof kind !== 'string' ||
          typeof subject !== 'string' ||
          data === undefined
        ) {
          fail('entry needs seq, time, actor, kind, subject and data');
        }
        entries.push({
          seq: seq as number,
          time: time as string,
          // A structured actor as its canonical text (as stored), a plain one as it is.
          actor: typeof actor === 'string' ? actor : canonicalJson(actor),
          kind: kind as string,
          subject: subject as string,
          dataJson: canonicalJson(data),
        });
        break;
      }
      case 'key':
        if (typeof rec.name !== 'string' || typeof rec.publicKey !== 'string') fail('key needs name and publicKey');
        keys.push({ name: rec.name as string, publicKey: Buffer.from(rec.publicKey as string, 'base64') });
        break;
      case 'checkpoint': {
        const p = parseCheckpointNote(typeof rec.note === 'string' ? rec.note : '');
        if (!p.ok) fail(`checkpoint: ${p.reason}`);
        else checkpoints.push(p.value);
        break;
      }
      default:
        fail(`unknown record type ${JSON.stringify(rec.type)}`);
    }
  }
  if (!header) throw invalid('the export has no header line; is this a bulwark ledger export?');
  if (header.from > 0 && prefix?.size !== header.from) throw invalid(`the export starts at ${header.from} but has no matching prefix line`);
  if (checkpoints.length === 0) throw invalid('the export has no checkpoint line');
  if (opts.external) checkpoints.push(opts.external);
  const v = new LogVerifier({
    checkpoints,
    trustedKeys: opts.trustedKeys ?? keys,
    prefix: header.from > 0 ? prefix : undefined,
    head: { size: header.size, root: checkpoints[0]!.root },
  });
  for (const e of entries) {
    v.push(e, undefined);
    if (!v.ok) break;
  }
  return v.finish();
}
