import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser of their own. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const INSTALL_HINT = `Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium`;

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Whether browser tests should be skipped: only when Chromium is missing outside CI.
 * Under CI a missing browser is a broken environment, so the tests run and fail loudly.
 */
export function skipBrowserTests(): boolean {
  const skip = !chromiumAvailable() && process.env['CI'] !== 'true';
  if (skip) console.warn(`[browser] ${INSTALL_HINT}. Browser tests are skipped.`);
  return skip;
}

const LAUNCH_TIMEOUT_MS = 30_000;

/** Start Chromium; fails with what to check when it is missing or does not start in 30 s. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(INSTALL_HINT);
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
  } catch (e) {
    throw new Error(
      `Chromium (${CHROMIUM_PATH}) did not start within ${LAUNCH_TIMEOUT_MS / 1000} s: check that \`${CHROMIUM_PATH} --headless --no-sandbox --dump-dom about:blank\` runs here.\n${(e as Error).message}`,
    );
  }
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'web/dist');
/** The build's scratch space and its lock, beside the dependencies and out of git's sight. */
const WORK = join(ROOT, 'node_modules/.cache/bulwark-web');
const LOCK = join(WORK, 'lock');

function webBuiltAndFresh(): boolean {
  const built = join(DIST, 'index.html');
  if (!existsSync(built)) return false;
  const sources = ['web/src', 'web/index.html', 'web/vite.config.ts'].map((p) => newestMtime(join(ROOT, p)));
  return Math.max(...sources) <= statSync(built).mtimeMs;
}

const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Take the build lock (a directory: mkdir is atomic), waiting while another process holds it; a
 * lock whose owner is gone is taken over. Several test files, and several test runs in one
 * checkout, call ensureWebBuilt() at once: one builds, the others wait and then find it fresh.
 */
function lockBuild(timeoutMs: number): () => void {
  mkdirSync(WORK, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'owner.pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(LOCK, 'owner.pid'), 'utf8'));
    } catch {
      // being created or removed right now
    }
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the dashboard build lock ${LOCK} is still held by pid ${owner} after ${timeoutMs} ms`);
    sleepSync(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The browser tests drive the bundle the server ships: build it when it is missing, or older
 * than its sources (a stale bundle would test yesterday's dashboard).
 *
 * Built once, under a lock, into a scratch directory that then replaces web/dist in two renames:
 * web/dist is never half written. (Each browser test file used to run `vite build` into web/dist
 * itself; with emptyOutDir, one file's build emptied web/dist while another file's server was
 * starting, and a server that starts without web/dist/index.html registers no static files: it
 * answers every asset with index.html, the page never runs, and every case times out.)
 */
export function ensureWebBuilt(): void {
  if (webBuiltAndFresh()) return;
  const unlock = lockBuild(180_000);
  try {
    if (webBuiltAndFresh()) return; // built by whoever held the lock
    const out = join(WORK, `dist-${process.pid}`);
    rmSync(out, { recursive: true, force: true });
    const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
    const r = spawnSync(
      process.execPath,
      [vite, 'build', '--config', 'web/vite.config.ts', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    if (r.status !== 0) {
      rmSync(out, { recursive: true, force: true });
      throw new Error(
        `vite build failed (exit ${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`,
      );
    }
    const old = join(WORK, `old-${process.pid}`);
    rmSync(old, { recursive: true, force: true });
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(out, DIST);
    rmSync(old, { recursive: true, force: true });
  } finally {
    unlock();
  }
}
