// The public test vectors are read in place from ../shared/vectors, never copied into the
// project. Outside CI a missing folder skips the tests that need it; under CI it fails.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const vectorsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/vectors');

export function vectorsAvailable(): boolean {
  if (existsSync(vectorsDir)) return true;
  if (process.env.CI === 'true') throw new Error(`test vectors not found at ${vectorsDir}; CI must have shared/ beside the checkout`);
  console.warn(`skipping vector tests: ${vectorsDir} is absent (check out shared/ beside the repository)`);
  return false;
}
