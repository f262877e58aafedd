import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_NAME, fileWithoutSecrets, slugOf } from './apply-experiment.ts';

describe('applying', () => {
  it('names an experiment after its title with a valid name, whatever the title', () => {
    expect(slugOf('SQL injection against the shop is blocked!')).toBe('sql-injection-against-the-shop-is-blocked');
    expect(slugOf('Détection — très rapide')).toBe('detection-tres-rapide');
    expect(slugOf('???')).toBe('experiment');
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (title) => EXPERIMENT_NAME.test(slugOf(title))));
  });

  it('shows the file with the values of its inline secrets replaced, and nothing else changed', () => {
    const file =
      'title: t\ndescription: d\nsecrets:\n  shop:\n    password: s3cret-value\n    token: { type: env, key: SHOP_TOKEN }\nmethod:\n  - type: action\n    name: a\n    provider: { type: http, url: http://127.0.0.1/ }\n';
    const shown = fileWithoutSecrets({ name: 'e', file });
    expect(shown).not.toContain('s3cret-value');
    expect(shown).toBe(file.replace('s3cret-value', '[redacted]'));
  });

  it('refuses to show a stored file that no longer parses instead of showing its secrets', () => {
    // As an older version could have stored it: within its 1 MiB, past today's bounds.
    const file = `title: t\ndescription: d\nsecrets:\n  shop:\n    password: s3cret-value\nmethod: []\nx-pad: &a [${'1,'.repeat(40_000)}1]\n`;
    expect(() => fileWithoutSecrets({ name: 'old', file })).toThrow(
      expect.objectContaining({
        code: 'invalid',
        message: expect.stringMatching(/^experiment 'old' no longer parses: 1:1 the file is longer than/),
      }) as Error,
    );
  });
});
