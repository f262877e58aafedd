/**
 * The process provider (Chaos Toolkit's): starts an executable on the host Bulwark runs on,
 * so on a server it is privileged and judged by the executable allow-list (process-policy.ts).
 */
import { z } from 'zod';
import { custom, isObject, no, ok, seconds, strict, text, type Check } from '../schema-kit.ts';
import { processRefusals } from '../process-policy.ts';
import { rewriteMap, scopes, stringMap, toSeconds, type ProviderType } from './provider-type.ts';

export interface ProcessProvider {
  type: 'process';
  path: string;
  /**
   * argv after the executable, or a command line for a shell: Chaos Toolkit runs a string
   * `arguments` through a shell and a list without one, and so does Bulwark.
   */
  arguments: { kind: 'argv'; argv: string[] } | { kind: 'shell'; line: string };
  env: Record<string, string>;
  timeoutMs?: number;
  secrets: string[];
}

/** `{status, stdout, stderr}`: status is the exit code, or minus the signal number when killed. */
export interface ProcessResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Chaos Toolkit: a string runs through a shell; a list is argv; a mapping is flattened to k, v pairs. */
const processArguments = custom((v): Check<ProcessProvider['arguments']> => {
  if (typeof v === 'string') return ok({ kind: 'shell', line: v });
  const scalar = (x: unknown) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  const items: unknown[] = Array.isArray(v) ? v : isObject(v) ? Object.entries(v).flat() : [null];
  const bad = items.findIndex((x) => x !== null && !scalar(x));
  if (!Array.isArray(v) && !isObject(v)) return no('arguments must be a list of strings, or one command line for a shell');
  if (bad >= 0) return no('each argument must be a string or a number', Array.isArray(v) ? [bad] : []);
  return ok({ kind: 'argv', argv: items.filter((x) => x !== null && x !== '').map((x) => String(x)) });
});

const schema = strict({
  type: z.literal('process'),
  path: text,
  arguments: processArguments.optional(),
  env: stringMap.optional(),
  timeout: seconds.optional(),
  secrets: scopes,
}).transform((p): ProcessProvider => ({
  type: 'process',
  path: p.path,
  arguments: p.arguments ?? { kind: 'argv', argv: [] },
  env: p.env ?? {},
  ...(p.timeout !== undefined ? { timeoutMs: p.timeout } : {}),
  secrets: p.secrets ?? [],
}));

export const processType: ProviderType<ProcessProvider, ProcessResult> = {
  type: 'process',
  schema,
  secretScopes: (p) => p.secrets,
  rewriteStrings: (p, rw) => ({
    ...p,
    path: rw.str(p.path, ['path']),
    arguments:
      p.arguments.kind === 'shell'
        ? { kind: 'shell', line: rw.str(p.arguments.line, ['arguments']) }
        : { kind: 'argv', argv: p.arguments.argv.map((a, i) => rw.str(a, ['arguments', i])) },
    env: rewriteMap(p.env, 'env', rw),
  }),
  toFile(p) {
    if (p.arguments.kind === 'argv' && p.arguments.argv.includes('')) {
      // The file format drops empty arguments (as Chaos Toolkit does); refuse rather than change the command.
      throw new Error(`process ${p.path}: an empty argument cannot be written to a file`);
    }
    return {
      type: 'process',
      path: p.path,
      ...(p.arguments.kind === 'shell'
        ? { arguments: p.arguments.line }
        : p.arguments.argv.length > 0
          ? { arguments: p.arguments.argv }
          : {}),
      ...(Object.keys(p.env).length > 0 ? { env: p.env } : {}),
      ...(p.timeoutMs !== undefined ? { timeout: toSeconds(p.timeoutMs) } : {}),
      ...(p.secrets.length > 0 ? { secrets: p.secrets } : {}),
    };
  },
  describe: (p) =>
    p.arguments.kind === 'shell'
      ? `sh -c ${JSON.stringify(`${p.path} ${p.arguments.line}`)}`
      : [p.path, ...p.arguments.argv].map((x) => JSON.stringify(x)).join(' '),
  // What a process touches cannot be inspected: the executable allow-list governs it.
  blastRadius: () => [],
  limitTargets: () => ({ hosts: [], files: [] }),
  injectionTier: 1,
  hostBound: true,
  executableRefusals: (p, entries, opts) => processRefusals(p, entries, opts),
};
