/** Chaos Toolkit's python provider: accepted so that its files parse, never run. */
import { z } from 'zod';
import { json, text } from '../schema-kit.ts';
import type { JsonValue } from '../types.ts';
import { scopes, type ProviderType } from './provider-type.ts';

/** Accepted so Chaos Toolkit files parse, but never run: `unsupported` says what to do instead. */
export interface PythonProvider {
  type: 'python';
  module: string;
  func: string;
  arguments?: JsonValue;
  secrets: string[];
  unsupported: string;
}

const schema = z
  .looseObject({ type: z.literal('python'), module: text, func: text, arguments: json.optional(), secrets: scopes })
  .transform((p): PythonProvider => ({
    type: 'python',
    module: p.module,
    func: p.func,
    ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
    secrets: p.secrets ?? [],
    unsupported: `python provider ${p.module}.${p.func} cannot run in Bulwark; rewrite the activity with a process or http provider`,
  }));

export const pythonType: ProviderType<PythonProvider, never> = {
  type: 'python',
  schema,
  secretScopes: (p) => p.secrets,
  unsupported: (p) => p.unsupported,
  rewriteStrings: (p) => p,
  toFile: (p) => ({ type: 'python', module: p.module, func: p.func, ...(p.arguments !== undefined ? { arguments: p.arguments } : {}) }),
  describe: (p) => `python ${p.module}.${p.func} (not supported)`,
  blastRadius: () => [],
  limitTargets: () => ({ hosts: [], files: [] }),
  injectionTier: 2,
  hostBound: false,
};
