/** Small settings of the installation, such as the log's origin. */
import type { MetaRepo } from './port.ts';
import type { Db } from '../kysely/util.ts';

export class KyselyMeta implements MetaRepo {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('bulwark_meta').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async put(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('bulwark_meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async putIfAbsent(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('bulwark_meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.get(key))!;
  }
}
