import { describe, expect, it } from 'vitest';
import type { Activity } from '../../../core/experiments/types.ts';
import type { ActivityRun } from './activities.ts';
import { RunJournal, toJsonValue } from './journal.ts';

const SECRET = 'sk-live-7Hq2mZ9xW4vB8nR1';
const secrets = { shop: { apikey: SECRET } };

const activity = (name: string): Activity =>
  ({ type: 'action', name, provider: { type: 'http', url: `http://shop/?key=${SECRET}` } }) as unknown as Activity;

const ran = (name: string, output: unknown): ActivityRun => ({
  activity: activity(name),
  status: 'succeeded',
  start: '2026-04-01T12:00:00.000Z',
  end: '2026-04-01T12:00:00.010Z',
  duration: 0.01,
  output,
  startMs: 0,
  endMs: 10,
});

function journal() {
  return new RunJournal({ title: 'x', note: `uses ${SECRET}` }, Date.parse('2026-04-01T12:00:00.000Z'), {
    runId: 'r1',
    actor: 'test',
    dryRun: false,
    techniques: [],
    blastRadius: { hosts: ['shop'], paths: [] },
  });
}

describe('the journal as JSON', () => {
  it('is redacted everywhere, and each serialization shows what was added since', () => {
    const j = journal();
    const first = j.toJson(secrets);
    j.run.push(ran('inject', { status: 403, body: `echo ${SECRET}` }));
    j.bulwark.error = `failed with ${SECRET}`;
    j.end = '2026-04-01T12:00:01.000Z';
    j.status = 'failed';
    const second = j.toJson(secrets) as Record<string, any>;
    expect((first as Record<string, any>).run).toEqual([]);
    expect(second.run).toHaveLength(1);
    expect(second.run[0].output).toEqual({ status: 403, body: 'echo [redacted]' });
    expect(second).toMatchObject({ status: 'failed', end: '2026-04-01T12:00:01.000Z', duration: 1 });
    const text = JSON.stringify([first, second]);
    expect(text).not.toContain(SECRET);
    expect(second.experiment).toEqual({ title: 'x', note: 'uses [redacted]' });
    expect(second.bulwark.error).toBe('failed with [redacted]');
  });

  it('is the same whether parts were serialized before or not, and follows other secrets', () => {
    const a = journal();
    const b = journal();
    a.toJson(secrets);
    for (const j of [a, b]) {
      j.run.push(ran('one', 'ok'));
      j.rollbacks.push(ran('undo', { text: SECRET }));
    }
    a.toJson(secrets);
    expect(a.toJson(secrets)).toEqual(b.toJson(secrets));
    // Other secrets (none): nothing kept from the earlier redaction.
    expect(JSON.stringify(a.toJson({}))).toContain(SECRET);
  });
});

describe('toJsonValue', () => {
  const roundTrip = (v: unknown) =>
    JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null') as unknown;

  it('gives what a JSON round trip gives, unusual values included', () => {
    class Thing {
      a = 1;
    }
    const cases: unknown[] = [
      1,
      'x',
      true,
      null,
      undefined,
      NaN,
      -0,
      Infinity,
      1n,
      () => 1,
      Symbol('s'),
      { a: 1, b: undefined, c: () => 1, d: Symbol('x'), e: [1, undefined, () => 2], f: { g: 'h' } },
      [1, 'a', null, { x: [] }],
      [1, , 3],
      { d: new Date(0) },
      { k: new Thing() },
      { m: new Map([[1, 2]]) },
      { t: { toJSON: () => 'T' } },
      JSON.parse('{"__proto__": {"x": 1}}'),
      Object.create(null),
      { n: -0, i: 12.5, big: 3n },
      { nested: { deeper: [{ a: [1, 2, { b: NaN }] }] } },
      [[[]]],
    ];
    for (const c of cases) expect(toJsonValue(c)).toStrictEqual(roundTrip(c));
  });

  it('refuses a cycle as JSON.stringify does', () => {
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => toJsonValue(cyc)).toThrow(TypeError);
  });

  it('copies: the result shares no object with the value', () => {
    const v = { a: { b: [1] } };
    const c = toJsonValue(v) as typeof v;
    c.a.b.push(2);
    expect(v.a.b).toEqual([1]);
  });
});
