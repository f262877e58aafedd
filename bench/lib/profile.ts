/**
 * Where a store call spends its time, per SQL statement, without changing the store: wrap the
 * driver entry points kysely uses (better-sqlite3 `prepare` and Statement `run`/`all`; pg
 * `Client#query`) and add up wall time per statement shape. Whatever is left of the call's wall
 * time is JavaScript (kysely query building and compiling, hashing, encoding).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import Database from 'better-sqlite3';
import pg from 'pg';

export interface StatementProfile {
  /** Label → { calls, total ms }. */
  byStatement: Map<string, { calls: number; ms: number }>;
  reset(): void;
  restore(): void;
}

/** A short label for a statement: verb and table, e.g. "insert ledger_nodes". */
export function label(sqlText: string): string {
  const s = sqlText.trim().replace(/\s+/g, ' ').toLowerCase();
  const verb = s.split(' ')[0] ?? '';
  const table = /(?:into|update|from)\s+"?([a-z_]+)"?/.exec(s)?.[1] ?? '';
  const returning = / returning /.test(s) ? ' … returning' : '';
  return `${verb}${table ? ` ${table}` : ''}${returning}`;
}

function makeProfile(): StatementProfile & { add(l: string, ms: number): void } {
  const byStatement = new Map<string, { calls: number; ms: number }>();
  return {
    byStatement,
    add(l, ms) {
      const e = byStatement.get(l) ?? { calls: 0, ms: 0 };
      e.calls += 1;
      e.ms += ms;
      byStatement.set(l, e);
    },
    reset() {
      byStatement.clear();
    },
    restore() {},
  };
}

export function profileSqlite(): StatementProfile {
  const p = makeProfile();
  const dbProto = Database.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const probe = new Database(':memory:');
  const stmtProto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  const orig = { prepare: dbProto.prepare!, run: stmtProto.run!, all: stmtProto.all!, get: stmtProto.get! };
  dbProto.prepare = function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return orig.prepare.apply(this, a);
    } finally {
      p.add(`${label(String(a[0]))} (prepare)`, performance.now() - t);
    }
  };
  for (const m of ['run', 'all', 'get'] as const) {
    stmtProto[m] = function (this: { source: string }, ...a: unknown[]) {
      const t = performance.now();
      try {
        return orig[m].apply(this, a);
      } finally {
        p.add(label(this.source), performance.now() - t);
      }
    };
  }
  p.restore = () => {
    dbProto.prepare = orig.prepare;
    stmtProto.run = orig.run;
    stmtProto.all = orig.all;
    stmtProto.get = orig.get;
  };
  return p;
}

export function profilePg(): StatementProfile {
  const p = makeProfile();
  const proto = pg.Client.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = proto.query!;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const q = a[0] as string | { text?: string };
    const text = typeof q === 'string' ? q : (q?.text ?? '?');
    const t = performance.now();
    const r = orig.apply(this, a);
    if (r && typeof (r as Promise<unknown>).then === 'function') {
      return (r as Promise<unknown>).finally(() => p.add(label(text), performance.now() - t));
    }
    return r;
  };
  p.restore = () => {
    proto.query = orig;
  };
  return p;
}

/** A V8 CPU profile of this thread from now until `stop`, which writes it and returns the path. */
export async function startCpuProfile(intervalUs = 100): Promise<{ stop(file: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      return file;
    },
  };
}
