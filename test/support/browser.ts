import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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

export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(INSTALL_HINT);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * The browser tests drive the bundle the server ships: build it when it is missing, or older
 * than its sources (a stale bundle would test yesterday's dashboard).
 */
export function ensureWebBuilt(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const built = join(root, 'web/dist/index.html');
  if (existsSync(built)) {
    const sources = ['web/src', 'web/index.html', 'web/vite.config.ts'].map((p) => newestMtime(join(root, p)));
    if (Math.max(...sources) <= statSync(built).mtimeMs) return;
  }
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}
