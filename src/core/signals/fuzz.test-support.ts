/**
 * Shared by the signal parsers' tests: arbitraries that mutate a valid fixture (so the fuzzing
 * reaches past the first check), and the invariants every produced signal must hold.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { RUN_ID } from './correlation.ts';
import { SEVERITIES } from './severity.ts';
import { LABEL_LIMITS, type Rejected, type Signal } from './signal.ts';

type Seg = string | number;

function paths(value: unknown, prefix: Seg[] = [], out: Seg[][] = []): Seg[][] {
  const children: [Seg, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [];
  for (const [k, v] of children) {
    out.push([...prefix, k]);
    paths(v, [...prefix, k], out);
  }
  return out;
}

function parentOf(root: unknown, path: Seg[]): Record<string | number, unknown> | undefined {
  let cur: unknown = root;
  for (const seg of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>) : undefined;
}

/** A valid JSON fixture with one to four of its members deleted, replaced by any JSON, or retyped. */
export function jsonMutation(base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base);
  const op = fc.record({
    at: fc.nat(Math.max(0, all.length - 1)),
    kind: fc.constantFrom('delete', 'replace', 'stringify', 'empty'),
    value: fc.jsonValue({ maxDepth: 2 }),
  });
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    const copy = structuredClone(base);
    for (const o of ops) {
      const path = all[o.at];
      if (!path) continue;
      const parent = parentOf(copy, path);
      const key = path[path.length - 1]!;
      if (!parent || !(key in parent)) continue;
      if (o.kind === 'delete') {
        if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
        else delete parent[key];
      } else if (o.kind === 'replace') parent[key] = o.value;
      else if (o.kind === 'stringify') parent[key] = JSON.stringify(parent[key]) ?? '';
      else parent[key] = Array.isArray(parent[key]) ? [] : typeof parent[key] === 'object' ? {} : '';
    }
    return copy;
  });
}

/** A valid text fixture with one to four edits: cut, insert anything, duplicate, truncate. */
export function textMutation(base: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(Math.max(0, base.length)),
    len: fc.nat(12),
    kind: fc.constantFrom('cut', 'insert', 'duplicate', 'truncate', 'replace'),
    text: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.constantFrom('"', '\\', ']', '[', ' ', '\n', '=', "'", '{', '}', ':', ','),
    ),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let s = base;
    for (const e of edits) {
      const at = Math.min(e.at, s.length);
      if (e.kind === 'cut') s = s.slice(0, at) + s.slice(at + e.len);
      else if (e.kind === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
      else if (e.kind === 'duplicate') s = s.slice(0, at + e.len) + s.slice(at, at + e.len) + s.slice(at + e.len);
      else if (e.kind === 'truncate') s = s.slice(0, at);
      else s = s.slice(0, at) + e.text + s.slice(at + e.text.length);
    }
    return s;
  });
}

/** Any text a hostile or broken sender could produce. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.string({ unit: 'grapheme' }),
);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The invariants of every signal any parser produces. */
export function expectValidSignal(s: Signal): void {
  expect(s.id).toMatch(/^sig_[0-9a-f]{32}$/);
  expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  expect(s.id).toBe(`sig_${s.fingerprint.slice(0, 32)}`);
  expect(s.time).toMatch(ISO);
  expect(s.receivedAt).toMatch(ISO);
  expect(SEVERITIES).toContain(s.severity);
  expect(typeof s.source).toBe('string');
  expect(typeof s.resolved).toBe('boolean');
  const labels = Object.entries(s.labels);
  expect(labels.length).toBeLessThanOrEqual(LABEL_LIMITS.maxLabels);
  for (const [k, v] of labels) {
    expect(k).not.toBe('__proto__');
    expect(typeof v).toBe('string');
    expect(v.length).toBeLessThanOrEqual(LABEL_LIMITS.maxValueLength);
    expect(v).not.toMatch(/[\u0000-\u001f\u007f]/);
  }
  if (s.runId !== undefined) expect(s.runId).toMatch(RUN_ID);
  expect(() => JSON.stringify(s)).not.toThrow();
}

/** A rejection says something; `like` pins how it starts. */
export function expectClearReason(r: Rejected, like?: RegExp): void {
  expect(typeof r.reason).toBe('string');
  expect(r.reason.length).toBeGreaterThan(5);
  if (like) expect(r.reason).toMatch(like);
}
