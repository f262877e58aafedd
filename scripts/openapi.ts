/**
 * docs/openapi.json is generated from the route table, never written by hand.
 *
 *   npm run openapi          writes docs/openapi.json from a server built in memory
 *   npm run openapi:check    fails when the committed file differs from what the server serves
 *
 * The document is the one GET /v1/openapi.json answers: openApiDocument() over the routes a
 * server registers. The server here has an in-memory database and listens nowhere.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/app/deps.ts';
import { ensureOrigin } from '../src/app/bootstrap.ts';
import { memoryKeyRing } from '../src/app/ledger/key-ring.ts';
import { createServer } from '../src/server/create-server.ts';
import { createLogger } from '../src/server/logging.ts';
import { openApiDocument } from '../src/server/openapi.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import { VERSION } from '../src/version.ts';

const FILE = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** The document as the server serves it, as the text of docs/openapi.json. */
async function openApiText(): Promise<string> {
  const store = await openSqliteStore(':memory:');
  try {
    const origin = await ensureOrigin(store);
    const server = await createServer({
      deps: { store, clock: systemClock, keys: memoryKeyRing(), origin },
      logger: createLogger('silent'),
      webDir: fileURLToPath(new URL('../web/dist', import.meta.url)),
    });
    try {
      await server.app.ready();
      return `${JSON.stringify(openApiDocument(server.spec, VERSION), null, 2)}\n`;
    } finally {
      await server.app.close();
    }
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const text = await openApiText();
  if (!process.argv.includes('--check')) {
    await writeFile(FILE, text);
    console.log(`wrote docs/openapi.json (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths)`);
    return;
  }
  const committed = await readFile(FILE, 'utf8').catch(() => '');
  if (committed === text) {
    console.log('docs/openapi.json matches the route table');
    return;
  }
  const differing = differingPaths(committed, text);
  console.error(
    `docs/openapi.json differs from what the server serves${differing.length ? ` (${differing.join(', ')})` : ''}.\n` +
      'Regenerate it with `npm run openapi` and commit the result.',
  );
  process.exitCode = 1;
}

/** The paths (or top-level parts) whose description differs, to say where to look. */
function differingPaths(committedText: string, generatedText: string): string[] {
  let committed: Record<string, unknown>;
  try {
    committed = JSON.parse(committedText) as Record<string, unknown>;
  } catch {
    return ['the committed file is not JSON'];
  }
  const generated = JSON.parse(generatedText) as Record<string, unknown>;
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const key of new Set([...Object.keys(committed), ...Object.keys(generated)])) {
    if (key === 'paths') continue;
    if (!same(committed[key], generated[key])) out.push(key);
  }
  const a = (committed['paths'] ?? {}) as Record<string, unknown>;
  const b = (generated['paths'] ?? {}) as Record<string, unknown>;
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) if (!same(a[p], b[p])) out.push(p);
  return out;
}

await main();
