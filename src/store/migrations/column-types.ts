/** The few column types that differ between SQLite and PostgreSQL. */
import type { Dialect } from '../store.ts';

export type { Dialect };

export function columnTypes(dialect: Dialect) {
  return {
    blob: dialect === 'postgres' ? 'bytea' : 'blob',
    bigint: dialect === 'postgres' ? 'bigint' : 'integer',
  } as const;
}
