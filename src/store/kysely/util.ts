/** Small helpers shared by the kysely repositories. */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

// SQLite allows 32,766 bound parameters per statement; stay well below on both databases.
export const CHUNK = 2000;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export { asBuffer as toBuf } from '../../core/bytes.ts';
