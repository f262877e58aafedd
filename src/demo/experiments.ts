/**
 * The demo experiments shipped beside the demo target: three files that, against the target's
 * default controls (DEMO_CONTROLS), end prevented (SQL injection), detected (anonymous admin) and
 * missed (login brute force). Each names the target's URL `${target}`: pass demoVars(url) as the
 * `--var` overrides when resolving configuration.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const DEMO_EXPERIMENTS_DIR = fileURLToPath(new URL('./experiments/', import.meta.url));

export interface DemoExperimentFile {
  /** The file name without `.yaml`, e.g. `sqli-products`. */
  name: string;
  path: string;
  text: string;
}

/** Every demo experiment file, sorted by name. */
export async function loadDemoExperiments(dir: string = DEMO_EXPERIMENTS_DIR): Promise<DemoExperimentFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
  return Promise.all(
    names.map(async (n) => ({ name: n.slice(0, -'.yaml'.length), path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
}

/** The configuration overrides that point the demo experiments at a running target. */
export function demoVars(targetUrl: string): Record<string, string> {
  return { target: targetUrl.replace(/\/+$/, '') };
}
