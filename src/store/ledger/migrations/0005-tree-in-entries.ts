/**
 * The Merkle tree moves into the entry rows: each entry keeps, in `tree`, its leaf hash and the
 * hashes of the interior nodes its append completed, and the head keeps the compact range
 * (`frontier`). An append then writes one row per entry and reads one row, instead of three rows
 * per entry and a node lookup; a verification scan needs no join. Existing ledgers are carried
 * over from `ledger_nodes`, which is then dropped.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { frontierNodes, type NodeId } from '../../../core/ledger/merkle.ts';
import { completedAt } from '../tree-layout.ts';
import { columnTypes, type Dialect } from '../../migrations/column-types.ts';

/** In-order position of a node in the old `ledger_nodes` table. */
const oldPos = (n: NodeId): number => n.index * 2 ** (n.level + 1) + 2 ** n.level - 1;

export function treeInEntries(dialect: Dialect): Migration {
  const { blob } = columnTypes(dialect);
  const empty = dialect === 'postgres' ? sql`'\\x'::bytea` : sql`X''`;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('ledger_entries')
        .addColumn('tree', sql.raw(blob), (c) => c.notNull().defaultTo(empty))
        .execute();
      await db.schema
        .alterTable('ledger_head')
        .addColumn('frontier', sql.raw(blob), (c) => c.notNull().defaultTo(empty))
        .execute();
      const head = await db.selectFrom('ledger_head').select('size').where('id', '=', 1).executeTakeFirst();
      const size = Number(head?.size ?? 0);
      const lookup = async (ids: NodeId[]): Promise<Buffer[]> => {
        const pos = ids.map(oldPos);
        const rows = (await db.selectFrom('ledger_nodes').select(['pos', 'hash']).where('pos', 'in', pos).execute()) as {
          pos: number | string;
          hash: Uint8Array;
        }[];
        const byPos = new Map(rows.map((r) => [Number(r.pos), Buffer.from(r.hash)]));
        return pos.map((p, i) => {
          const h = byPos.get(p);
          if (!h) throw new Error(`ledger tree is missing node ${ids[i]!.level}:${ids[i]!.index}; restore from a backup`);
          return h;
        });
      };
      for (let from = 0; from < size; from += 500) {
        const to = Math.min(size, from + 500);
        for (let seq = from; seq < to; seq++) {
          const tree = Buffer.concat(await lookup(completedAt(seq)));
          await db.updateTable('ledger_entries').set({ tree }).where('seq', '=', seq).execute();
        }
      }
      const frontier = size === 0 ? Buffer.alloc(0) : Buffer.concat(await lookup(frontierNodes(size)));
      await db.updateTable('ledger_head').set({ frontier }).where('id', '=', 1).execute();
      await db.schema.dropTable('ledger_nodes').execute();
    },
  };
}
