/**
 * A ledger entry and its canonical encoding. The leaf of the Merkle tree is the RFC 8785 (JCS)
 * encoding of the whole entry, position included, so any change of content or order changes the
 * leaf hash of that entry.
 */
import canonicalize from 'canonicalize';
import { invalid } from '../errors.ts';
import { textProblem } from '../input/text.ts';
import { MAX_DEPTH, SECRET_KEY, fastCanonical, hasSecretKey, quote } from './canonical.ts';
import { leafHashOfText, type Hash } from './merkle.ts';
import { actorLeafJson, decodeActor, storedActor, type Actor, type ActorValue } from './actor.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface LedgerEntry {
  /** Position in the log, from 0; equal to the leaf index. */
  seq: number;
  /** RFC 3339 UTC time with milliseconds, from the writer's clock. */
  time: string;
  /** Who caused it (actor.ts): structured; a plain string in entries written before. */
  actor: ActorValue;
  /** Dotted event type, e.g. `token.created`, `note.observation`. */
  kind: string;
  /** What it is about, e.g. `token:abc123`. */
  subject: string;
  data: Json;
}

/** An entry before the store has given it its position; its actor is always structured. */
export type NewEntry = Omit<LedgerEntry, 'seq' | 'time' | 'actor'> & { time?: string; actor: Actor };

/** Canonical JSON (RFC 8785) of any JSON value; rejects what JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return fastCanonical(value, false) ?? slowCanonicalJson(value);
}

/**
 * The canonical JSON of entry data, as stored and hashed: the checks of `assertNoSecrets` and then
 * of `canonicalJson`, with their errors, in one walk of the value.
 */
export function encodeData(value: unknown): string {
  const out = fastCanonical(value, true);
  if (out !== undefined) return out;
  slowAssertNoSecrets(value as Json, 'data');
  return slowCanonicalJson(value);
}

/** The checks and encoding that name what is wrong; the fast path defers to them on any doubt. */
function slowCanonicalJson(value: unknown): string {
  assertJson(value, '$');
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (e) {
    // canonicalize refuses lone surrogates (RFC 8785 needs well-formed Unicode).
    throw invalid(`value cannot be encoded as canonical JSON: ${(e as Error).message}; send well-formed Unicode text`);
  }
  if (out === undefined) throw invalid('value cannot be encoded as JSON');
  return out;
}

const tooDeep = (path: string) =>
  invalid(`${path} nests deeper than ${MAX_DEPTH} levels of arrays and objects, which no entry needs; flatten it`);

const HOLE: unique symbol = Symbol('hole');

/** What JSON can carry, checked without recursion, in document order, with the path of the first problem. */
function assertJson(value: unknown, path: string): void {
  // [value, its path, its depth, whether it is an object's member]
  const stack: [unknown, string, number, boolean][] = [[value, path, 0, false]];
  while (stack.length > 0) {
    const [v, at, depth, member] = stack.pop()!;
    if (v === null || typeof v === 'boolean' || typeof v === 'string') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid(`${at} is not a finite number`);
      continue;
    }
    if (v === HOLE) throw invalid(`${at} is a hole in a sparse array, which JSON cannot carry`);
    if (v === undefined && member) throw invalid(`${at} is undefined; omit the key instead`);
    if (Array.isArray(v)) {
      if (depth >= MAX_DEPTH) throw tooDeep(at);
      for (let i = v.length - 1; i >= 0; i--) stack.push([i in v ? v[i] : HOLE, `${at}[${i}]`, depth + 1, false]);
      continue;
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      if (depth >= MAX_DEPTH) throw tooDeep(at);
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], `${at}.${entries[i]![0]}`, depth + 1, true]);
      continue;
    }
    throw invalid(`${at} is a ${typeof v}, which JSON cannot carry`);
  }
}

/** An entry as stored: `data` kept as the canonical JSON text that was hashed. */
export interface StoredEntry extends Omit<LedgerEntry, 'data' | 'actor'> {
  /** The actor's stored text (actor.ts encodeActor): canonical JSON of a structured one, or a plain string. */
  actor: string;
  dataJson: string;
}

/**
 * The bytes hashed into the leaf: the RFC 8785 encoding of the entry. Members are written in JCS
 * order (actor, data, kind, seq, subject, time) around the stored canonical `data` text, which
 * spares re-encoding on verification; JSON.stringify of a string is the JCS string form.
 */
export function leafInput(e: StoredEntry): Buffer {
  return Buffer.from(leafText(e), 'utf8');
}

/** leafInput as text: its UTF-8 encoding is the leaf input (hash it with leafHashOfText). */
export function leafText(e: StoredEntry): string {
  return `{"actor":${actorLeafJson(e.actor)},"data":${e.dataJson},"kind":${quote(e.kind)},"seq":${e.seq},"subject":${quote(e.subject)},"time":${quote(e.time)}}`;
}

export function toStored(e: LedgerEntry): StoredEntry {
  const { data, actor, ...rest } = e;
  return { ...rest, actor: storedActor(actor), dataJson: canonicalJson(data) };
}

export function fromStored(e: StoredEntry): LedgerEntry {
  const { dataJson, actor, ...rest } = e;
  return { ...rest, actor: decodeActor(actor), data: JSON.parse(dataJson) as Json };
}

export function entryLeafHash(e: LedgerEntry | StoredEntry): Hash {
  return leafHashOfText(leafText('dataJson' in e ? e : toStored(e)));
}

/**
 * A NUL written as JSON's escape inside the data text: `\u0000` not itself preceded by an escaped
 * backslash. Every other refused code point appears raw in canonical JSON (JCS escapes only
 * controls, quote and backslash; lone surrogates are refused while encoding).
 */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * Refuse an entry that could not be stored and read back as it was hashed, naming the field: every
 * string of every field (data's keys and values included) must pass `textProblem`. Without this a
 * lone surrogate, stored by the database as U+FFFD, would make the entry fail verification forever.
 */
export function assertStorable(e: StoredEntry): void {
  for (const field of ['kind', 'subject', 'time'] as const) {
    const problem = textProblem(e[field]);
    if (problem) throw invalid(`the ledger entry's ${field} ${problem}; the ledger keeps only text that reads back unchanged`);
  }
  // The actor and data as stored JSON text: a NUL would be written as an escape.
  for (const [field, json] of [
    ['actor', e.actor],
    ['data', e.dataJson],
  ] as const) {
    const problem = textProblem(json) ?? (NUL_ESCAPE.test(json) ? 'holds a NUL character (U+0000); remove it' : undefined);
    if (problem) throw invalid(`the ledger entry's ${field} ${problem}; the ledger keeps only text that reads back unchanged`);
  }
}

/** Secrets never enter the ledger: refuse data whose keys look like one. */
export function assertNoSecrets(value: Json, path = 'data'): void {
  if (hasSecretKey(value)) slowAssertNoSecrets(value, path);
}

/** The first key that looks like a secret, in document order, without recursion. */
function slowAssertNoSecrets(value: Json, path: string): void {
  // [value, its path, its depth, the key it is under]
  const stack: [Json, string, number, string | undefined][] = [[value, path, 0, undefined]];
  while (stack.length > 0) {
    const [v, at, depth, key] = stack.pop()!;
    if (key !== undefined && SECRET_KEY.test(key))
      throw invalid(`${at} looks like a secret, and secrets never enter the ledger; remove the field or rename it`);
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) throw tooDeep(at);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i]!, `${at}[${i}]`, depth + 1, undefined]);
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i]!;
      stack.push([x, `${at}.${k}`, depth + 1, k]);
    }
  }
}
