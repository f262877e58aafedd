import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DomainError } from '../../core/errors.ts';
import { verifyExport } from './export.ts';

async function* lines(list: string[]) {
  yield* list;
}

describe('export parser', () => {
  it('answers any input with a report or a clear invalid error, never a crash', async () => {
    const record = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          type: fc.constantFrom('header', 'prefix', 'entry', 'key', 'checkpoint', 'other'),
          seq: fc.integer(),
          data: fc.jsonValue(),
          note: fc.string(),
          format: fc.constantFrom('bulwark-ledger-export/1', 'x'),
          from: fc.nat(),
          size: fc.nat(),
          hashes: fc.array(fc.string()),
        })
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 8 }), async (list) => {
        try {
          const r = await verifyExport(lines(list));
          expect(typeof r.ok).toBe('boolean');
        } catch (e) {
          expect(e).toBeInstanceOf(DomainError);
          expect((e as DomainError).code).toBe('invalid');
        }
      }),
      { numRuns: 500 },
    );
  });
});
