/**
 * Start a worker thread whose module is TypeScript, as the CLI runs it (bin/bulwark.mjs): tsx's
 * ESM loader is registered in the thread before the module loads (an `--import` flag in a
 * worker's execArgv is not honoured on Node 20). tsx is found from this file, not from the
 * working directory, so it works from any directory, under tsx, vitest or the installed bin.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

let tsxApiUrl: string | undefined;

function tsxApi(): string {
  if (tsxApiUrl === undefined) {
    const require = createRequire(import.meta.url);
    const pkgFile = require.resolve('tsx/package.json');
    const pkg = require(pkgFile) as { exports: Record<string, { import?: { default?: string } } | string> };
    const api = pkg.exports['./esm/api'];
    const file = typeof api === 'object' ? api.import?.default : undefined;
    if (!file) throw new Error('tsx has no ESM register API');
    tsxApiUrl = pathToFileURL(path.join(path.dirname(pkgFile), file)).href;
  }
  return tsxApiUrl;
}

/** A Worker running `module` (a .ts file URL). Throws when tsx cannot be found. */
export function startTsWorker(module: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
