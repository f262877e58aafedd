/**
 * The `bulwark` CLI bundled once per test run (test/global-setup.ts), so that a test that spawns
 * it does not pay for tsx compiling and loading ~550 TypeScript modules in every child.
 *
 * What the bundle holds: the sources under src/, compiled by esbuild into one ES module. What it
 * does not: the packages in node_modules stay imports (better-sqlite3 is native; pino, tsx and
 * the others find their own files at run time), loaded by Node as the installed bin loads them.
 * Each source keeps its own `import.meta.url` (replaced by its file's URL before bundling), so
 * paths computed from it (the package root, the demo's files, worker modules run through tsx)
 * are the same as under bin/bulwark.mjs. The bundle is written under node_modules/.cache (so that
 * its package imports resolve to the repository's node_modules) and removed when the run ends.
 *
 * The tests that are about the installed bin itself run `node bin/bulwark.mjs` (`installedBinArgs`
 * in processes.ts); BULWARK_TEST_CLI=bin makes every spawn use it (to check the bundle changes
 * nothing).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** The first line of the bundle, so a spawned process can be recognised by its file name. */
export const CLI_BUNDLE_NAME = 'bulwark-cli.mjs';

const IMPORT_META = /\bimport\.meta\.(url|dirname|filename)\b/g;

/**
 * The worker threads the sources start with startTsWorker(new URL('./FILE.ts', import.meta.url))
 * (src/app/ts-worker.ts): each becomes an entry of the bundle too, and the bundle's startTsWorker
 * starts the bundled file instead of registering tsx in the thread, which would compile the
 * worker's sources again in every process.
 */
const WORKER_CALL = /startTsWorker\(\s*new URL\(\s*'(\.{1,2}\/[^']+\.ts)'\s*,\s*import\.meta\.url\s*\)/g;
const TS_WORKER = 'app/ts-worker.ts';
const START_TS_WORKER = 'export function startTsWorker(';

async function findWorkers(srcDir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const entry of await readdir(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    for (const m of (await readFile(file, 'utf8')).matchAll(WORKER_CALL)) found.add(path.resolve(path.dirname(file), m[1]!));
  }
  return [...found].sort();
}

const workerEntryName = (srcDir: string, file: string): string =>
  `workers/${path.relative(srcDir, file).replace(/\.ts$/, '').replaceAll(path.sep, '-')}`;

/**
 * src/app/ts-worker.ts as bundled: its startTsWorker looks the module up among the bundled
 * workers first, and falls back to tsx for any other (or when the file no longer has the
 * function this expects, so the bundle stays correct, only slower).
 */
function bundledWorkerStart(text: string, workers: Record<string, string>): string {
  if (!text.includes(START_TS_WORKER)) return text;
  return `${text.replace(START_TS_WORKER, 'function startTsWorkerThroughTsx(')}
const BUNDLED_WORKERS: Record<string, string> = ${JSON.stringify(workers)};
export function startTsWorker(module: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bundled = BUNDLED_WORKERS[module.href];
  return bundled === undefined ? startTsWorkerThroughTsx(module, options) : new Worker(new URL(bundled), options);
}
`;
}

/** Give every source its own import.meta.url / dirname / filename, as literal strings. */
function ownImportMeta(srcDir: string, workers: Record<string, string>): Plugin {
  const filter = new RegExp(`^${srcDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\.ts$`);
  return {
    name: 'own-import-meta',
    setup(b) {
      b.onLoad({ filter }, async (args) => {
        let text = await readFile(args.path, 'utf8');
        if (args.path === path.join(srcDir, TS_WORKER)) text = bundledWorkerStart(text, workers);
        const contents = text.replace(IMPORT_META, (_, prop: string) =>
          JSON.stringify(prop === 'url' ? pathToFileURL(args.path).href : prop === 'dirname' ? path.dirname(args.path) : args.path),
        );
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Bundle src/cli/main.ts of `repoRoot` into `outDir`/bulwark-cli.mjs; the bundle's path. Throws
 * with esbuild's messages when the sources do not bundle.
 */
export async function bundleCli(repoRoot: string, outDir: string): Promise<string> {
  const srcDir = path.join(repoRoot, 'src') + path.sep;
  const entryPoints: Record<string, string> = { 'bulwark-cli': path.join(repoRoot, 'src/cli/main.ts') };
  const workers: Record<string, string> = {};
  for (const file of await findWorkers(srcDir)) {
    const name = workerEntryName(srcDir, file);
    entryPoints[name] = file;
    workers[pathToFileURL(file).href] = pathToFileURL(path.join(outDir, `${name}.mjs`)).href;
  }
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    // Chunks: what the sources load with import() (the HTTP stack for serve, a capability's
    // commands, the contract suites) stays a separate file, loaded only when imported, with the
    // packages it imports; one file would import all of them at every start.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [ownImportMeta(srcDir, workers), externalPackages()],
    logLevel: 'silent',
    // A shebang in main.ts would land in the middle of the file; the bundle is run by `node FILE`.
    banner: {
      // The CommonJS packages in the bundle call require() for Node's own modules.
      js: [
        `// ${CLI_BUNDLE_NAME}: src/cli/main.ts bundled for the tests (test/support/cli-bundle.ts)`,
        `import { createRequire as __bulwarkCreateRequire } from 'node:module';`,
        `const require = __bulwarkCreateRequire(import.meta.url);`,
      ].join('\n'),
    },
    legalComments: 'none',
    // No source map: parsing one would cost every spawn; esbuild marks each source's region
    // with a `// src/…` comment, which is enough to read a stack trace.
  });
  return path.join(outDir, CLI_BUNDLE_NAME);
}

/**
 * Packages left as imports, resolved by Node from the bundle's directory upwards (which is why the
 * bundle is written under the repository's node_modules/.cache): native ones (better-sqlite3),
 * those that find their own files at run time (pino starts its transports from files of its own,
 * tsx registers a loader), optional ones that are not installed (pg-native), and the test tools
 * themselves. Every other package is bundled: loading kysely's ~260 modules, zod's ~100 and
 * yaml's ~70 file by file is most of what is left of a spawn's start once the sources are bundled.
 */
const EXTERNAL_PACKAGES = new Set([
  'better-sqlite3',
  'pino',
  'pino-pretty',
  'thread-stream',
  'pg-native',
  'tsx',
  'esbuild',
  'vite',
  'vitest',
]);

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function externalPackages(): Plugin {
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point' || path.isAbsolute(args.path) || args.path.startsWith('node:')) return undefined;
        if (!EXTERNAL_PACKAGES.has(packageName(args.path))) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}
