/** Validation of values from outside: a zod schema, and a DomainError that says what to fix. */
import type { ZodType, z } from 'zod';
import { invalid } from './errors.ts';

export function parseInput<T extends ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw invalid(`invalid ${what}: ${details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ')}`, details);
}
