/**
 * Table types for kysely. One schema serves SQLite and PostgreSQL. Empty here: each capability's
 * tables.ts adds its tables (`declare module '../schema.ts' { interface Database { … } }`); the
 * order backup writes them in is the parts' (store-part.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Database {}
