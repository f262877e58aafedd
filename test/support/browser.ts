import { existsSync } from 'node:fs';
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
