/**
 * The process allow-list: what a `process` provider may start on a server, and with what. The
 * path alone does not decide what an allowed executable does: its environment (a loader or
 * interpreter variable such as LD_PRELOAD or NODE_OPTIONS makes it run someone else's code) and
 * its arguments do too. So each entry of `experiments.allowExecutables` names an executable and
 * what an experiment may give it:
 *
 * - `env`: the variables an experiment may set for it, each optionally with a pattern its value
 *   must match. Deny by default: a variable not listed for that executable is refused. Some
 *   variables (FORBIDDEN_VARIABLES: the loader, the C library, shells, interpreters, tools that
 *   start other programs or read their configuration from where a variable says, and Bulwark's
 *   own) can never be allowed: a config listing one is refused at start, and an experiment
 *   setting one is refused whatever the allow-list holds.
 * - `args`: when present, the argument list must satisfy one of its rules: `exact` (the same
 *   list), `patterns` (as many arguments as patterns, each matching its own) or `each` (every
 *   argument matches). Patterns are JavaScript regular expressions that must match the whole
 *   argument or value, as if written `^(?:…)$`. When absent, arguments are not constrained.
 *
 * A plain path (`/bin/true`) is an entry with no variables and unconstrained arguments. A shell
 * line (a string `arguments`) starts `/bin/sh -c "PATH LINE"`, so it is judged as that: it needs
 * an entry for `/bin/sh`, and that entry's `args` see `-c` and the whole line. The process
 * provider has no working directory of its own: the file schema has no such field, and a child
 * runs in the server's working directory, so nothing of an experiment can change it.
 *
 * Pure: the same rule serves the server at apply time, the run manager, the runner on the
 * resolved file, and anything later that starts processes (playbooks).
 */
import { z } from 'zod';
import { hasTemplate } from './tolerance.ts';
import type { ProcessProvider } from './types.ts';

/** The config key every refusal names. */
export const ALLOW_EXECUTABLES = 'experiments.allowExecutables';

/** One shape of argument list an executable may be started with. */
export type ArgvRule = { exact: readonly string[] } | { patterns: readonly string[] } | { each: string };

/** A variable an experiment may set; `pattern`, when given, must match the whole value. */
export interface EnvRule {
  name: string;
  pattern?: string;
}

export interface ExecutableRule {
  /** The exact absolute path an experiment's `path` must be. */
  path: string;
  /** The variables an experiment may set for it (none unless listed). */
  env: readonly EnvRule[];
  /** Absent: any arguments. Present: the arguments must satisfy one of the rules. */
  args?: readonly ArgvRule[];
}

/** As written in the config: a plain path, or a rule. */
export type ExecutableEntry = string | ExecutableRule;

export const ruleOf = (e: ExecutableEntry): ExecutableRule => (typeof e === 'string' ? { path: e, env: [] } : e);
export const pathOf = (e: ExecutableEntry): string => (typeof e === 'string' ? e : e.path);

/** What a process provider starts: argv as given, or a shell line through `/bin/sh -c`. */
export function commandOf(p: Pick<ProcessProvider, 'path' | 'arguments'>): { file: string; argv: string[] } {
  return p.arguments.kind === 'shell'
    ? { file: '/bin/sh', argv: ['-c', `${p.path} ${p.arguments.line}`] }
    : { file: p.path, argv: p.arguments.argv };
}

/** A variable name as shells and most programs read them. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface ForbiddenGroup {
  names: readonly string[];
  prefixes: readonly string[];
  why: string;
}

/**
 * Variables no allow-list can allow, by group, with the reason a refusal gives. Matched without
 * regard to case, by exact name or by prefix.
 */
export const FORBIDDEN_VARIABLES: readonly ForbiddenGroup[] = [
  {
    names: [
      'GCONV_PATH',
      'GETCONF_DIR',
      'GLIBC_TUNABLES',
      'HOSTALIASES',
      'LOCALDOMAIN',
      'LOCPATH',
      'NIS_PATH',
      'NLSPATH',
      'RESOLV_HOST_CONF',
      'RES_OPTIONS',
      'TZDIR',
    ],
    prefixes: ['LD_', 'DYLD_', 'MALLOC_'],
    why: 'the dynamic loader or the C library reads it, and loads code or data from where it says',
  },
  { names: ['PATH'], prefixes: [], why: 'it decides which program a command name starts' },
  {
    names: [
      'BASH_ENV',
      'ENV',
      'SHELLOPTS',
      'BASHOPTS',
      'PS1',
      'PS2',
      'PS3',
      'PS4',
      'PROMPT_COMMAND',
      'IFS',
      'CDPATH',
      'GLOBIGNORE',
      'EXECIGNORE',
      'BASH_XTRACEFD',
      'BASH_LOADABLES_PATH',
      'BASH_COMPAT',
      'ZDOTDIR',
      'FPATH',
      'INPUTRC',
    ],
    prefixes: ['BASH_FUNC_'],
    why: 'a shell reads it, and runs commands or changes how it parses and runs them',
  },
  {
    names: ['_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH', 'PHPRC', 'PHP_INI_SCAN_DIR', 'TCLLIBPATH', 'ELECTRON_RUN_AS_NODE'],
    prefixes: ['NODE_', 'PYTHON', 'PERL', 'RUBY', 'GEM_', 'BUNDLE_', 'LUA_', 'JAVA_'],
    why: 'an interpreter or runtime reads it, and loads modules or runs code from where it says',
  },
  {
    names: [
      'HOME',
      'XDG_CONFIG_HOME',
      'XDG_CONFIG_DIRS',
      'XDG_DATA_HOME',
      'XDG_DATA_DIRS',
      'CURL_HOME',
      'WGETRC',
      'OPENSSL_CONF',
      'OPENSSL_ENGINES',
      'OPENSSL_MODULES',
      'SSLKEYLOGFILE',
      'SSH_ASKPASS',
      'SUDO_ASKPASS',
      'EDITOR',
      'VISUAL',
      'PAGER',
      'MANPAGER',
      'LESSOPEN',
      'LESSCLOSE',
      'BROWSER',
    ],
    prefixes: ['GIT_'],
    why: 'programs read it to start another program, or to load configuration or write files where it says',
  },
  { names: [], prefixes: ['BULWARK_'], why: "Bulwark's own settings, and BULWARK_RUN is set by the runner to the run id" },
];

/** Why a variable can never be allowed, or undefined when an allow-list may allow it. */
export function forbiddenVariable(name: string): string | undefined {
  const upper = name.toUpperCase();
  for (const g of FORBIDDEN_VARIABLES) {
    if (g.names.includes(upper) || g.prefixes.some((p) => upper.startsWith(p))) return g.why;
  }
  return undefined;
}

/** A pattern that must match the whole text; undefined when it is not a regular expression. */
const compiled = new Map<string, RegExp | undefined>();
export function wholeMatch(pattern: string): RegExp | undefined {
  if (compiled.has(pattern)) return compiled.get(pattern);
  let re: RegExp | undefined;
  try {
    // Checked alone first, so that a pattern cannot close the wrapping group (`a)|(b`).
    new RegExp(pattern, 'u');
    re = new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    re = undefined;
  }
  if (compiled.size > 1000) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

const matches = (pattern: string, text: string) => wholeMatch(pattern)?.test(text) === true;

/** Why a refusal of one process provider: structured, so that callers word the executable case their way. */
export type ProcessRefusal =
  | { kind: 'executable'; executable: string }
  | { kind: 'variable'; executable: string; name: string; reason: 'forbidden' | 'invalid-name' | 'not-listed'; why?: string }
  | { kind: 'value'; executable: string; name: string; pattern: string }
  | { kind: 'arguments'; executable: string; argv: readonly string[]; why: string };

export interface ProcessCheckOptions {
  /**
   * At apply time, values still holding `${…}` are judged once the run resolves them: a templated
   * executable, variable value or argument list is skipped here. Variable names are never
   * templated, so they are always judged.
   */
  deferTemplates?: boolean;
}

/** Why the allow-list refuses this process provider; empty when it may run. */
export function processRefusals(
  p: Pick<ProcessProvider, 'path' | 'arguments' | 'env'>,
  entries: readonly ExecutableEntry[],
  opts: ProcessCheckOptions = {},
): ProcessRefusal[] {
  const { file, argv } = commandOf(p);
  const defer = (s: string) => opts.deferTemplates === true && hasTemplate(s);
  if (defer(file)) return [];
  const entry = entries.find((e) => pathOf(e) === file);
  if (entry === undefined) return [{ kind: 'executable', executable: file }];
  const rule = ruleOf(entry);
  const out: ProcessRefusal[] = [];
  for (const [name, value] of Object.entries(p.env)) {
    const why = forbiddenVariable(name);
    if (!VARIABLE_NAME.test(name)) {
      out.push({ kind: 'variable', executable: file, name, reason: 'invalid-name' });
      continue;
    }
    if (why !== undefined) {
      out.push({ kind: 'variable', executable: file, name, reason: 'forbidden', why });
      continue;
    }
    const allowed = rule.env.find((r) => r.name === name);
    if (allowed === undefined) out.push({ kind: 'variable', executable: file, name, reason: 'not-listed' });
    else if (allowed.pattern !== undefined && !defer(value) && !matches(allowed.pattern, value)) {
      out.push({ kind: 'value', executable: file, name, pattern: allowed.pattern });
    }
  }
  if (rule.args !== undefined && !argv.some(defer)) {
    const misses = rule.args.map((r) => argvMiss(r, argv));
    if (misses.every((m) => m !== undefined)) out.push({ kind: 'arguments', executable: file, argv, why: misses.join('; ') });
  }
  return out;
}

const quote = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
const cut = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}…` : s);

/** Why argv does not satisfy one rule, or undefined when it does. */
function argvMiss(rule: ArgvRule, argv: readonly string[]): string | undefined {
  if ('exact' in rule) {
    const same = rule.exact.length === argv.length && rule.exact.every((a, i) => a === argv[i]);
    return same ? undefined : `not exactly ${JSON.stringify(rule.exact)}`;
  }
  if ('patterns' in rule) {
    if (rule.patterns.length !== argv.length) {
      return `${argv.length} argument${argv.length === 1 ? '' : 's'} where patterns ${JSON.stringify(rule.patterns)} want ${rule.patterns.length}`;
    }
    const i = rule.patterns.findIndex((pat, j) => !matches(pat, argv[j]!));
    return i < 0 ? undefined : `argument ${i + 1} ${quote(argv[i]!)} does not match the pattern ${JSON.stringify(rule.patterns[i])}`;
  }
  const i = argv.findIndex((a) => !matches(rule.each, a));
  return i < 0 ? undefined : `argument ${i + 1} ${quote(argv[i]!)} does not match the pattern ${JSON.stringify(rule.each)} (each)`;
}

const TO_EXTEND = `in the server's config and restart`;

/** One refusal as a sentence naming the variable or arguments and the config key to extend (no location). */
export function describeProcessRefusal(r: ProcessRefusal, entries: readonly ExecutableEntry[]): string {
  switch (r.kind) {
    case 'executable': {
      const listed = entries.length ? entries.map(pathOf).join(', ') : 'empty';
      return `runs ${r.executable}, which is not on this server's allow-list ${ALLOW_EXECUTABLES} (${listed}); add it to ${ALLOW_EXECUTABLES} ${TO_EXTEND}`;
    }
    case 'variable': {
      if (r.reason === 'invalid-name') {
        return `sets environment variable ${quote(r.name)} for ${r.executable}, which is not a variable name (letters, digits and _, not starting with a digit) and ${ALLOW_EXECUTABLES} can never allow; remove it from env`;
      }
      if (r.reason === 'forbidden') {
        return `sets environment variable ${r.name} for ${r.executable}, which ${ALLOW_EXECUTABLES} can never allow (${r.why}); remove it from env`;
      }
      const entry = entries.find((e) => pathOf(e) === r.executable);
      const names = entry === undefined ? [] : ruleOf(entry).env.map((e) => e.name);
      return (
        `sets environment variable ${r.name} for ${r.executable}, which ${ALLOW_EXECUTABLES} does not allow for it (allowed: ${names.join(', ') || 'none'}); ` +
        `add ${r.name} to the env of ${r.executable}'s entry in ${ALLOW_EXECUTABLES} ${TO_EXTEND}, or remove it from env`
      );
    }
    case 'value':
      return (
        `sets environment variable ${r.name} for ${r.executable} to a value that does not match the pattern ${JSON.stringify(r.pattern)} ` +
        `its entry in ${ALLOW_EXECUTABLES} gives; change the value, or the pattern ${TO_EXTEND}`
      );
    case 'arguments':
      return (
        `starts ${r.executable} with arguments ${cut(JSON.stringify(r.argv))}, which no rule of args of its entry in ${ALLOW_EXECUTABLES} allows (${r.why}); ` +
        `change the arguments, or add a rule to args of ${r.executable}'s entry ${TO_EXTEND}`
      );
  }
}

// ---- The config: `experiments.allowExecutables`, checked with clear errors at start.

type Issue = { path: (string | number)[]; message: string };

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function unknownKeys(v: Record<string, unknown>, known: readonly string[], what: string, at: (string | number)[], issues: Issue[]): void {
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) issues.push({ path: [...at, k], message: `unknown key '${k}'; ${what} has ${known.join(', ')}` });
  }
}

function pattern(v: unknown, at: (string | number)[], issues: Issue[]): string | undefined {
  if (typeof v !== 'string') {
    issues.push({ path: at, message: 'must be a regular expression, as a string' });
    return undefined;
  }
  try {
    new RegExp(v, 'u');
  } catch (e) {
    issues.push({ path: at, message: `is not a valid regular expression: ${(e as Error).message}` });
    return undefined;
  }
  return v;
}

function envRule(v: unknown, at: (string | number)[], issues: Issue[]): EnvRule | undefined {
  const raw = typeof v === 'string' ? { name: v } : v;
  if (!isMapping(raw)) {
    issues.push({ path: at, message: 'must be a variable name, or a mapping {name, pattern}' });
    return undefined;
  }
  unknownKeys(raw, ['name', 'pattern'], 'a variable', at, issues);
  const name = raw.name;
  const nameAt = typeof v === 'string' ? at : [...at, 'name'];
  if (typeof name !== 'string' || !VARIABLE_NAME.test(name)) {
    issues.push({ path: nameAt, message: 'must be a variable name: letters, digits and _, not starting with a digit' });
    return undefined;
  }
  const why = forbiddenVariable(name);
  if (why !== undefined) {
    issues.push({ path: nameAt, message: `${name} can never be allowed: ${why}; remove it` });
    return undefined;
  }
  if (raw.pattern === undefined) return { name };
  const p = pattern(raw.pattern, [...at, 'pattern'], issues);
  return p === undefined ? undefined : { name, pattern: p };
}

const RULE_KINDS = ['exact', 'patterns', 'each'] as const;

function argvRule(v: unknown, at: (string | number)[], issues: Issue[]): ArgvRule | undefined {
  const kinds = isMapping(v) ? RULE_KINDS.filter((k) => k in v) : [];
  if (!isMapping(v) || kinds.length !== 1 || Object.keys(v).length !== 1) {
    issues.push({
      path: at,
      message:
        'must be one of {exact: [ARG, …]} (this list exactly), {patterns: [REGEX, …]} (as many arguments, each matching its own) or {each: REGEX} (every argument matches)',
    });
    return undefined;
  }
  const kind = kinds[0]!;
  const value = v[kind];
  if (kind === 'each') {
    const p = pattern(value, [...at, 'each'], issues);
    return p === undefined ? undefined : { each: p };
  }
  if (!Array.isArray(value)) {
    issues.push({ path: [...at, kind], message: `must be a list of ${kind === 'exact' ? 'arguments' : 'regular expressions'}` });
    return undefined;
  }
  const items: string[] = [];
  let ok = true;
  value.forEach((x: unknown, i) => {
    if (kind === 'exact') {
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') items.push(String(x));
      else {
        issues.push({ path: [...at, kind, i], message: 'must be a string' });
        ok = false;
      }
    } else {
      const p = pattern(x, [...at, kind, i], issues);
      if (p === undefined) ok = false;
      else items.push(p);
    }
  });
  if (!ok) return undefined;
  return kind === 'exact' ? { exact: items } : { patterns: items };
}

function executableEntry(v: unknown, at: (string | number)[], issues: Issue[]): ExecutableEntry | undefined {
  const absolute = (p: unknown, where: (string | number)[]) => {
    if (typeof p === 'string' && p.startsWith('/')) return true;
    issues.push({ path: where, message: 'must be an absolute path' });
    return false;
  };
  if (typeof v === 'string') return absolute(v, at) ? v : undefined;
  if (!isMapping(v)) {
    issues.push({ path: at, message: 'must be an absolute path, or a mapping {path, env, args}' });
    return undefined;
  }
  const before = issues.length;
  unknownKeys(v, ['path', 'env', 'args'], 'an executable', at, issues);
  absolute(v.path, [...at, 'path']);
  const env: EnvRule[] = [];
  if (v.env !== undefined) {
    if (!Array.isArray(v.env)) issues.push({ path: [...at, 'env'], message: 'must be a list of variable names (or {name, pattern})' });
    else {
      const seen = new Set<string>();
      v.env.forEach((x: unknown, i) => {
        const r = envRule(x, [...at, 'env', i], issues);
        if (r === undefined) return;
        if (seen.has(r.name)) issues.push({ path: [...at, 'env', i], message: `${r.name} is listed twice` });
        seen.add(r.name);
        env.push(r);
      });
    }
  }
  let args: ArgvRule[] | undefined;
  if (v.args !== undefined) {
    if (!Array.isArray(v.args) || v.args.length === 0) {
      issues.push({
        path: [...at, 'args'],
        message: 'must be a non-empty list of argument rules (leave args out for any arguments; [{exact: []}] for none)',
      });
    } else {
      args = [];
      for (const [i, x] of v.args.entries()) {
        const r = argvRule(x, [...at, 'args', i], issues);
        if (r !== undefined) args.push(r);
      }
    }
  }
  if (issues.length > before) return undefined;
  return { path: v.path as string, env, ...(args !== undefined ? { args } : {}) };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * `experiments.allowExecutables`: a list of plain paths or rules, each error naming where it is
 * and what to write instead; an executable listed twice is an error, since its two entries could
 * say different things. The result is frozen.
 */
export const AllowExecutablesSchema = z.array(z.unknown()).transform((list, ctx): readonly ExecutableEntry[] => {
  const issues: Issue[] = [];
  const out: ExecutableEntry[] = [];
  const seen = new Set<string>();
  list.forEach((v, i) => {
    const e = executableEntry(v, [i], issues);
    if (e === undefined) return;
    if (seen.has(pathOf(e))) issues.push({ path: [i], message: `${pathOf(e)} is listed twice; give it one entry` });
    seen.add(pathOf(e));
    out.push(e);
  });
  for (const i of issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  return deepFreeze(out);
});
