import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleCli } from './support/cli-bundle.ts';
import { REPO_ROOT, isAlive, killPid, markOwned, reapOrphans } from './support/processes.ts';
import { freePort } from './support/tmp.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
    /** A database migrated to the latest schema, to copy (CREATE DATABASE … TEMPLATE): see support/postgres.ts. */
    pgTemplate: string | null;
    /** The CLI bundled for this run, which runCli() and spawnBulwark() run: see support/cli-bundle.ts. */
    cliBundle: string | null;
  }
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const DIR_PREFIX = 'bulwark-pg-';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // esbuild bundles in its own process while PostgreSQL starts (initdb and pg_ctl block this one).
  const bundled = provideCliBundle(project);
  bundled.catch(() => undefined); // its error is thrown below, once PostgreSQL is up
  let dropPostgres: (() => Promise<void>) | undefined;
  try {
    dropPostgres = await setupPostgres(project);
  } catch (e) {
    await bundled.then((drop) => drop()).catch(() => undefined);
    throw e;
  }
  const dropBundle = await bundled;
  return async () => {
    await dropPostgres?.();
    dropBundle();
  };
}

const BUNDLE_DIRS = path.join(REPO_ROOT, 'node_modules/.cache/bulwark-cli');

/**
 * Bundle the CLI once for the whole run (about a second): each `bulwark` the tests spawn then
 * starts from one file instead of compiling its sources through tsx (see support/cli-bundle.ts).
 * TEST_BULWARK_CLI=bin runs the installed bin instead.
 */
async function provideCliBundle(project: TestProject): Promise<() => void> {
  if (process.env.TEST_BULWARK_CLI === 'bin') {
    project.provide('cliBundle', null);
    return () => undefined;
  }
  mkdirSync(BUNDLE_DIRS, { recursive: true });
  // Bundles of runs that died without their teardown (the directory names their pid).
  for (const name of readdirSync(BUNDLE_DIRS)) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) rmSync(path.join(BUNDLE_DIRS, name), { recursive: true, force: true });
  }
  const dir = mkdtempSync(path.join(BUNDLE_DIRS, `run-${process.pid}-`));
  const drop = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    project.provide('cliBundle', await bundleCli(REPO_ROOT, dir));
  } catch (e) {
    drop();
    throw new Error(`bundling the CLI for the tests failed (TEST_BULWARK_CLI=bin runs bin/bulwark.mjs instead): ${(e as Error).message}`);
  }
  process.once('exit', drop);
  return () => {
    process.off('exit', drop);
    drop();
  };
}

async function setupPostgres(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    project.provide('pgAdminUrl', fromEnv);
    const template = await createTemplate(fromEnv);
    project.provide('pgTemplate', template.name);
    return template.drop;
  }

  if (!existsSync(join(PG_BIN, 'initdb'))) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL 15 not found (${PG_BIN}/initdb). Install it: apt-get install -y postgresql (or set DATABASE_URL).`);
    }
    console.warn('[postgres] PostgreSQL not found: apt-get install postgresql, or set DATABASE_URL. PostgreSQL tests are skipped.');
    project.provide('pgAdminUrl', null);
    project.provide('pgTemplate', null);
    return undefined;
  }

  // Clusters left behind by a run that was SIGKILLed (nothing of ours ran at exit).
  reapOrphans(DIR_PREFIX, (dir) => stopServer(dir, 'immediate'));
  const cluster = await startCluster();
  // Vitest exits through process.exit() on Ctrl-C and on fatal errors without running
  // teardowns; the postmaster is detached from our process group, so it would outlive us.
  const onExit = (): void => cluster.stopSync('immediate');
  process.once('exit', onExit);
  project.provide('pgAdminUrl', cluster.url);
  project.provide('pgTemplate', (await createTemplate(cluster.url)).name);

  return async () => {
    process.off('exit', onExit);
    cluster.stopSync('fast');
  };
}

/**
 * A database migrated once for the whole run. A test that needs a migrated database copies it
 * (CREATE DATABASE … TEMPLATE, a file copy) instead of running every migration again: about a
 * second less per database under load, and the PostgreSQL contract suite makes one per case.
 */
async function createTemplate(adminUrl: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const { openPostgresStore } = await import('../src/store/postgres/open-postgres.ts');
  const { default: pg } = await import('pg');
  const name = `bulwark_template_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // Migrate, then close every connection: a template may have none while it is copied.
  await (await openPostgresStore(url.toString(), { poolSize: 1 })).close();
  return {
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

interface Cluster {
  url: string;
  stopSync(mode: 'fast' | 'immediate'): void;
}

const asRoot = process.getuid?.() === 0;

function pgRun(bin: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const cmd = join(PG_BIN, bin);
  // initdb and postgres refuse to run as root.
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { cwd, encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ok: r.status === 0, output };
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  const log = join(dir, 'server.log');
  mkdirSync(sock);
  markOwned(dir);

  let stopped = false;
  const stopSync = (mode: 'fast' | 'immediate'): void => {
    if (stopped) return;
    stopped = true;
    stopServer(dir, mode);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (asRoot) {
      const chown = spawnSync('chown', ['-R', 'postgres:postgres', dir], { encoding: 'utf8' });
      if (chown.status !== 0) throw new Error(`chown postgres ${dir} failed: ${chown.stderr}`);
    }
    // --no-sync only skips initdb's final flush of the bootstrap files; the server keeps
    // fsync and synchronous_commit at their defaults.
    const init = pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], dir);
    if (!init.ok) throw new Error(`initdb failed:\n${init.output}`);

    // The port is only reserved until we close the probe socket; retry if someone takes it.
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${sock}' -c max_connections=200`;
      const start = pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start'], dir);
      if (start.ok) {
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stopSync };
      }
      lastError = `${start.output}\n--- server log ---\n${tail(log)}`;
      stopServer(dir, 'immediate');
    }
    throw new Error(`pg_ctl start failed:\n${lastError}`);
  } catch (err) {
    stopSync('immediate');
    throw err;
  }
}

function stopServer(dir: string, mode: 'fast' | 'immediate'): void {
  const data = join(dir, 'data');
  const pidFile = join(data, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const stop = pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], dir);
  if (stop.ok || !existsSync(pidFile)) return;
  // Last resort: SIGQUIT is PostgreSQL's immediate shutdown, and it takes the backends with it.
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) killPid(pid, 'SIGQUIT');
  console.warn(`[postgres] pg_ctl stop failed in ${dir}:\n${stop.output}`);
}
