/**
 * Turns schema issues into messages a person can act on: the key's name, what it must be, and
 * for an unknown key the allowed key it most likely meant.
 */
import { REQUIRED, UNKNOWN_KEYS, type PathKey } from './schema-kit.ts';

export interface PendingIssue {
  path: PathKey[];
  message: string;
  /** Point at the key of the last path element (an unknown key) rather than its value. */
  atKey?: boolean;
  /** Offset inside a single-line scalar (a CEL error position). */
  offset?: number;
}

/** `method[2].provider.url`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(k)) out += out === '' ? k : `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

function labelOf(path: readonly PathKey[]): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'the experiment';
  if (typeof last === 'number') return `${formatPath(path.slice(-2)) || 'item'}`;
  return last;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'string' ? 'the string' : typeof v === 'number' ? 'the number' : 'the value'} ${JSON.stringify(v)}`;
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, k) ? (v as Record<PathKey, unknown>)[k] : undefined;
  }
  return v;
}

const REQUIRED_HINTS: Record<string, string> = {
  title: 'add a title: a short name for the experiment',
  description: 'add a description: what the experiment shows',
  method: 'add method: a list of actions and probes (it may be empty: method: [])',
  name: 'give it a name',
  provider: 'add a provider, e.g. {type: http, url: …}',
  type: 'add type',
  url: 'add url: the absolute http(s) URL to call',
  path: 'add path',
  tolerance: 'add a tolerance, e.g. 200',
  within: "add within: the deadline, e.g. '2m'",
  when: 'add when: a CEL expression over signal, e.g. signal.labels.rule == "942100"',
  every: "add every: how often to probe, e.g. '10s'",
};

export type ZodIssueLike = { code: string; path: PropertyKey[]; message: string } & Record<string, unknown>;

/** Turn one zod issue into messages that name the key and the fix. */
export function explainIssue(issue: ZodIssueLike, root: unknown): PendingIssue[] {
  const path = issue.path.filter((k): k is PathKey => typeof k === 'string' || typeof k === 'number');
  const label = labelOf(path);
  const actual = valueAt(root, path);
  if (issue.message.startsWith(UNKNOWN_KEYS)) {
    const allowed = JSON.parse(issue.message.slice(UNKNOWN_KEYS.length)) as string[];
    return ((issue['keys'] as string[] | undefined) ?? []).map((key) => {
      const guess = suggest(key, allowed);
      const fix = guess ? `did you mean '${guess}'?` : `allowed here: ${allowed.join(', ')}`;
      return { path: [...path, key], atKey: true, message: `unknown key '${key}' — ${fix}` };
    });
  }
  const params = issue['params'] as { offset?: unknown } | undefined;
  const offset = typeof params?.offset === 'number' ? { offset: params.offset } : {};
  if (issue.message === REQUIRED || (issue.code === 'invalid_type' && actual === undefined)) {
    const hint = REQUIRED_HINTS[label];
    return [{ path, message: `${label} is required${hint ? `: ${hint}` : ''}` }];
  }
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[String(issue['expected'])] ?? String(issue['expected']);
      return [{ path, message: `${label} must be ${expected}, not ${typeName(actual)}` }];
    }
    case 'invalid_value': {
      const values = (issue['values'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return [{ path, message: `${label} must be one of ${values}, not ${typeName(actual)}` }];
    }
    case 'invalid_union': {
      if (issue['discriminator'] !== undefined) {
        const options = (issue['options'] as unknown[]).join(', ');
        const parent = valueAt(root, path.slice(0, -1));
        if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) {
          return [{ path: path.slice(0, -1), message: `${labelOf(path.slice(0, -1))} must be a mapping with a type (${options})` }];
        }
        const owner = labelOf(path.slice(0, -1));
        if (actual === undefined) return [{ path, message: `${owner} needs a type: one of ${options}` }];
        return [{ path, message: `${owner} type ${JSON.stringify(actual)} is not supported; use one of ${options}` }];
      }
      return [{ path, message: `${label} is not valid here` }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue['minimum'] ?? issue['maximum'];
      const dir = issue.code === 'too_small' ? 'at least' : 'at most';
      if (issue['origin'] === 'string') return [{ path, message: `${label} must not be empty` }];
      if (issue['origin'] === 'array') return [{ path, message: `${label} must have ${dir} ${String(bound)} item(s)` }];
      return [{ path, message: `${label} must be ${dir} ${String(bound)}, not ${typeName(actual)}` }];
    }
    case 'invalid_format':
      return [
        {
          path,
          message: issue.message.includes(' ') && !issue.message.startsWith('Invalid') ? issue.message : `${label} has the wrong format`,
        },
      ];
    case 'custom':
      return [{ path, message: issue.message.startsWith('must ') ? `${label} ${issue.message}` : issue.message, ...offset }];
    default:
      return [{ path, message: `${label}: ${issue.message}` }];
  }
}

/** The closest allowed key: same letters ignoring case, `-` and `_`, or within two edits. */
export function suggest(key: string, allowed: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const same = allowed.find((a) => norm(a) === norm(key));
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(norm(key), norm(a));
    if (d < bestD) [best, bestD] = [a, d];
  }
  return bestD <= Math.min(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
