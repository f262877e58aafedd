// Brings node_modules and the built web UI up to date before `npm start` / `npm test`.
// Plain Node with no dependencies: it has to work before `npm install` has ever run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -Infinity;
  }
}

function newestUnder(dir) {
  let newest = -Infinity;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return newest;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : mtime(path));
  }
  return newest;
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`ensure: ${cmd} could not start: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`ensure: ${cmd} ${args.join(' ')} failed (${result.signal ?? `exit ${result.status}`})`);
    process.exit(result.status || 1);
  }
}

// npm rewrites node_modules/.package-lock.json on every install, so it marks the last one.
const installed = at('node_modules', '.package-lock.json');
const installedAt = mtime(installed);
if (installedAt === -Infinity || mtime(at('package-lock.json')) > installedAt || mtime(at('package.json')) > installedAt) {
  console.log('ensure: dependencies changed, running npm install');
  run('npm', ['install', '--no-audit', '--no-fund']);
  // A no-op install may leave the marker untouched (or rewrite package-lock.json after it);
  // touch it so the next run does not install again.
  if (existsSync(installed)) {
    const now = new Date();
    utimesSync(installed, now, now);
  }
}

if (existsSync(at('web', 'index.html'))) {
  const sources = Math.max(newestUnder(at('web', 'src')), mtime(at('web', 'index.html')), mtime(at('web', 'vite.config.ts')));
  if (mtime(at('web', 'dist', 'index.html')) < sources) {
    console.log('ensure: web sources changed, running vite build');
    // --no: never fetch vite from the registry; it must come from node_modules.
    run('npx', ['--no', '--', 'vite', 'build', '--config', 'web/vite.config.ts']);
  }
}
