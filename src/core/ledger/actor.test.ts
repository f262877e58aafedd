import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { ACTOR_HOW, actorLabel, actorLeafJson, apiActor, cliActor, decodeActor, encodeActor, systemActor, type Actor } from './actor.ts';

const field = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.stringMatching(/^[a-z0-9:._-]{1,20}$/),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);
const actor = fc.record(
  {
    id: field,
    kind: fc.constantFrom('person', 'service', 'system'),
    how: fc.constantFrom(...ACTOR_HOW),
    token: field,
    session: field,
    request: field,
  },
  { requiredKeys: ['id', 'kind', 'how'] },
) as fc.Arbitrary<Actor>;

describe('actors', () => {
  it('encode as the canonical JSON of the object, or are refused as invalid (never anything else)', () => {
    fc.assert(
      fc.property(actor, (a) => {
        let text: string;
        try {
          text = encodeActor(a);
        } catch (e) {
          expect(e).toBeInstanceOf(DomainError);
          expect((e as DomainError).code).toBe('invalid');
          return;
        }
        expect(text).toBe(canonicalize(a));
        expect(decodeActor(text)).toEqual(a);
        expect(actorLeafJson(text)).toBe(text);
      }),
    );
  });

  it('refuse what is not an actor: a missing or unknown field, a wrong kind, a plain string', () => {
    for (const bad of [
      { id: 'x', kind: 'person' },
      { id: 'x', kind: 'robot', how: 'api' },
      { id: 'x', kind: 'person', how: 'api', extra: 'y' },
      { id: '', kind: 'person', how: 'api' },
      { id: 'x'.repeat(201), kind: 'person', how: 'api' },
      'token:abc',
    ])
      expect(() => encodeActor(bad as Actor), JSON.stringify(bad)).toThrow(DomainError);
  });

  it('keep plain actors of older entries as they were, and label both forms as entries always did', () => {
    expect(decodeActor('token:abc')).toBe('token:abc');
    expect(actorLeafJson('cli:alice')).toBe('"cli:alice"');
    expect(actorLabel('system')).toBe('system');
    expect(actorLabel(apiActor({ id: 'person:a', kind: 'person', tokenId: 't1' }, 'r1'))).toBe('token:t1');
    expect(actorLabel(apiActor({ id: 'person:a', kind: 'person', tokenId: 't1', sessionId: 's1' }))).toBe('session:s1');
    expect(actorLabel(cliActor('alice'))).toBe('cli:alice');
    expect(actorLabel(systemActor('scheduler', 'scheduler'))).toBe('scheduler');
  });
});
