/**
 * A throwaway PostgreSQL 15 cluster for one benchmark, with the server's durable defaults
 * (fsync=on, synchronous_commit=on, full_page_writes=on, stated explicitly). It is stopped with
 * pg_ctl (then by postmaster pid if that fails) and its directory removed, on success, failure,
 * SIGINT/SIGTERM, and process exit.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { PG_BIN, log, onCleanup, tempDir } from './common.ts';

export interface Pg {
  url: string;
  version: string;
  dir: string;
  stop: () => Promise<void>;
}

const asRoot = process.getuid?.() === 0;

function pgRun(bin: string, args: string[], timeout = 120_000): { ok: boolean; output: string } {
  const cmd = path.join(PG_BIN, bin);
  // initdb and postgres refuse to run as root.
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = a && typeof a === 'object' ? a.port : 0;
      s.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

function chownR(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const f of readdirSync(p)) chownR(path.join(p, f), uid, gid);
}

/** Why PostgreSQL cannot be used here, or null when it can. */
export function pgUnavailable(): string | null {
  if (!existsSync(path.join(PG_BIN, 'initdb'))) return `PostgreSQL binaries not found in ${PG_BIN} (apt-get install -y postgresql)`;
  if (asRoot && spawnSync('id', ['postgres']).status !== 0) return 'running as root but there is no postgres user';
  return null;
}

export async function startPostgres(): Promise<Pg> {
  const dir = tempDir('bulwark-bench-pg-');
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  const logFile = path.join(dir, 'server.log');
  mkdirSync(sock);
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownR(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const init = pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  if (!init.ok) throw new Error(`initdb failed:\n${init.output}`);

  let started = false;
  const postmasterPid = (): number | null => {
    try {
      return Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    } catch {
      return null;
    }
  };
  const stopSync = (mode: 'fast' | 'immediate') => {
    if (!started) return;
    const pid = postmasterPid();
    const r = pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
    if (!r.ok && pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        /* already gone */
      }
    }
    started = false;
  };
  // Registered after tempDir's cleanup, so it runs before the directory is removed.
  const stop = onCleanup(
    `stop PostgreSQL in ${dir}`,
    async () => {
      stopSync('fast');
      log('PostgreSQL stopped');
    },
    () => stopSync('immediate'),
  );

  let lastError = '';
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    const port = await freePort();
    const opts = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories='${sock}'`,
      // Durability on, stated explicitly (these are the defaults): never fsync=off here.
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c full_page_writes=on',
    ].join(' ');
    const r = pgRun('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start']);
    if (r.ok) {
      started = true;
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const v = await c.query<{ server_version: string }>('show server_version');
      await c.end();
      log(`PostgreSQL ${v.rows[0]!.server_version} started on 127.0.0.1:${port} (pid ${postmasterPid()})`);
      return { url, version: v.rows[0]!.server_version, dir, stop };
    }
    lastError = `${r.output}\n--- server log ---\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`;
    started = true; // make stopSync try, in case it half-started
    stopSync('immediate');
  }
  throw new Error(`pg_ctl start failed:\n${lastError}`);
}

/** A fresh database on the cluster. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
