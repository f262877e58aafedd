import { describe, expect, it } from 'vitest';
import type { Activity } from '../../core/experiments/types.ts';
import type { ActivityRun } from './activities.ts';
import { RunJournal } from './journal.ts';

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
