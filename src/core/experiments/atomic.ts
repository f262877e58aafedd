/**
 * Imports Atomic Red Team technique files (`atomics/T…/T….yaml`): one experiment file per atomic
 * test that Bulwark can run — `sh` and `bash` executors without elevation. `#{arg}` is replaced by
 * the argument's default or an override, as Invoke-AtomicRedTeam does (verbatim: quoting is the
 * test author's); the command becomes a `process` action (`/bin/sh -c …`), `cleanup_command` the
 * rollback, and each dependency's `prereq_command` a steady-state probe, so a test whose
 * prerequisites are missing ends `not-run` instead of failing half-way. Everything else is skipped
 * with a warning that names the test. Pure: text in, experiment texts and warnings out; never
 * throws, whatever the input.
 */
import { stringify, type Document, type Node } from 'yaml';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { parseExperiment } from './experiment-file.ts';
import { formatPath } from './issues.ts';
import type { PathKey } from './schema-kit.ts';
import type { JsonValue } from './types.ts';

export interface AtomicImportOptions {
  /** Values for input arguments by name, over the defaults (`--arg name=value`); `PathToAtomicsFolder` too. */
  args?: Record<string, string>;
  /** Let a prerequisite probe run `get_prereq_command` when `prereq_command` fails, then check again. */
  getPrereqs?: boolean;
  /** Timeout of each command, in seconds (default 300). */
  timeoutSeconds?: number;
  /** Import tests whose commands look like they destroy the host (rm -rf /, mkfs, dd to a disk). */
  allowDestructive?: boolean;
}

/** A problem that makes the file unusable, located for the person who has to fix it (line and column from 1). */
export interface AtomicIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

export interface ImportedAtomicTest {
  /** A file name for the experiment: `T1070.004-1-delete-a-single-file.yaml`. */
  fileName: string;
  /** 1-based position in `atomic_tests`, as Atomic Red Team numbers tests. */
  testNumber: number;
  name: string;
  guid?: string;
  /** The experiment file (YAML); `parseExperiment` accepts it. */
  text: string;
}

export type AtomicImportResult =
  | { ok: true; technique: string; displayName: string; experiments: ImportedAtomicTest[]; warnings: string[] }
  | { ok: false; errors: AtomicIssue[] };

/** Files with more tests are refused: the largest Atomic Red Team technique has well under a hundred. */
export const MAX_ATOMIC_TESTS = 500;
export const DEFAULT_TIMEOUT_SECONDS = 300;
const SHELLS: Record<string, string> = { sh: '/bin/sh', bash: '/bin/bash' };
const ATOMICS_FOLDER = 'PathToAtomicsFolder';
const ARGUMENT_TYPES = ['string', 'path', 'url', 'integer', 'float'];

interface Argument {
  type: string;
  default?: string;
}
interface Dependency {
  description: string;
  prereq: string;
  getPrereq?: string;
}
interface AtomicTest {
  name: string;
  guid?: string;
  description: string;
  platforms: string[];
  args: Map<string, Argument>;
  dependencyExecutor?: string;
  dependencies: Dependency[];
  executor: string;
  command?: string;
  cleanup?: string;
  elevation: boolean;
}

type Pending = { path: PathKey[]; message: string };

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describeValue = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : isMap(v) ? 'a mapping' : `the ${typeof v} ${JSON.stringify(v)}`;

/** Read the file's structure; every problem is collected with its path, nothing is thrown. */
function readAtomicFile(
  raw: unknown,
  errors: Pending[],
): { technique: string; displayName: string; tests: (AtomicTest | undefined)[] } | undefined {
  if (!isMap(raw)) {
    errors.push({
      path: [],
      message: `the file is ${describeValue(raw)}; an Atomic Red Team file is a mapping with attack_technique, display_name and atomic_tests`,
    });
    return undefined;
  }
  const technique = raw['attack_technique'];
  if (typeof technique !== 'string' || !/^T\d{4}(\.\d{3})?$/.test(technique.trim())) {
    errors.push({
      path: ['attack_technique'],
      message:
        technique === undefined
          ? 'attack_technique is missing; add the ATT&CK id, e.g. T1070.004'
          : `attack_technique must be an ATT&CK id such as T1070.004, not ${describeValue(technique)}`,
    });
  }
  const displayName = raw['display_name'];
  if (displayName !== undefined && typeof displayName !== 'string')
    errors.push({ path: ['display_name'], message: 'display_name must be a string' });
  const list = raw['atomic_tests'];
  if (!Array.isArray(list) || list.length === 0) {
    errors.push({
      path: ['atomic_tests'],
      message: list === undefined ? 'atomic_tests is missing; add the list of tests' : 'atomic_tests must be a non-empty list of tests',
    });
    return undefined;
  }
  if (list.length > MAX_ATOMIC_TESTS) {
    errors.push({ path: ['atomic_tests'], message: `atomic_tests has ${list.length} tests; split the file (at most ${MAX_ATOMIC_TESTS})` });
    return undefined;
  }
  const tests = list.map((t, i) => readTest(t, ['atomic_tests', i], errors));
  if (typeof technique !== 'string') return undefined;
  return { technique: technique.trim(), displayName: typeof displayName === 'string' ? displayName : technique.trim(), tests };
}

function optionalText(m: Record<string, unknown>, key: string, at: PathKey[], errors: Pending[]): string | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    errors.push({
      path: [...at, key],
      message: `${key} must be a string (use a block scalar '|' for several lines), not ${describeValue(v)}`,
    });
    return undefined;
  }
  return v;
}

function readTest(raw: unknown, at: PathKey[], errors: Pending[]): AtomicTest | undefined {
  if (!isMap(raw)) {
    errors.push({ path: at, message: `a test must be a mapping with name, executor and its other keys, not ${describeValue(raw)}` });
    return undefined;
  }
  const before = errors.length;
  const name = raw['name'];
  if (typeof name !== 'string' || name.trim() === '')
    errors.push({ path: [...at, 'name'], message: 'name is missing; give the test a name' });
  const guid = optionalText(raw, 'auto_generated_guid', at, errors);
  const description = optionalText(raw, 'description', at, errors) ?? '';

  const platformsRaw = raw['supported_platforms'] ?? [];
  const platforms: string[] = [];
  if (!Array.isArray(platformsRaw) || platformsRaw.some((p) => typeof p !== 'string')) {
    errors.push({
      path: [...at, 'supported_platforms'],
      message: 'supported_platforms must be a list of platform names such as linux, macos',
    });
  } else platforms.push(...(platformsRaw as string[]));

  const args = new Map<string, Argument>();
  const argsRaw = raw['input_arguments'];
  if (argsRaw !== undefined && argsRaw !== null) {
    if (!isMap(argsRaw))
      errors.push({
        path: [...at, 'input_arguments'],
        message: 'input_arguments must be a mapping of argument names to {description, type, default}',
      });
    else {
      for (const [argName, spec] of Object.entries(argsRaw)) {
        const where = [...at, 'input_arguments', argName];
        if (!isMap(spec)) {
          errors.push({ path: where, message: `input argument ${argName} must be a mapping with description, type and default` });
          continue;
        }
        const type = spec['type'];
        if (typeof type !== 'string' || !ARGUMENT_TYPES.includes(type.toLowerCase())) {
          errors.push({
            path: [...where, 'type'],
            message: `type of ${argName} must be one of ${ARGUMENT_TYPES.join(', ')}, not ${describeValue(type)}`,
          });
          continue;
        }
        const d = spec['default'];
        if (d !== undefined && d !== null && typeof d !== 'string' && typeof d !== 'number' && typeof d !== 'boolean') {
          errors.push({
            path: [...where, 'default'],
            message: `default of ${argName} must be a string or a number, not ${describeValue(d)}`,
          });
          continue;
        }
        args.set(argName, { type: type.toLowerCase(), ...(d !== undefined && d !== null ? { default: String(d) } : {}) });
      }
    }
  }

  const dependencyExecutor = optionalText(raw, 'dependency_executor_name', at, errors);
  const dependencies: Dependency[] = [];
  const depsRaw = raw['dependencies'];
  if (depsRaw !== undefined && depsRaw !== null) {
    if (!Array.isArray(depsRaw))
      errors.push({
        path: [...at, 'dependencies'],
        message: 'dependencies must be a list of {description, prereq_command, get_prereq_command}',
      });
    else {
      depsRaw.forEach((d, j) => {
        const where = [...at, 'dependencies', j];
        if (!isMap(d)) {
          errors.push({ path: where, message: 'a dependency must be a mapping with description, prereq_command and get_prereq_command' });
          return;
        }
        const prereq = d['prereq_command'];
        if (typeof prereq !== 'string' || prereq.trim() === '') {
          errors.push({
            path: [...where, 'prereq_command'],
            message: 'prereq_command must be the command that exits 0 when the prerequisite is met',
          });
          return;
        }
        const getPrereq = optionalText(d, 'get_prereq_command', where, errors);
        dependencies.push({
          description: (optionalText(d, 'description', where, errors) ?? '').trim(),
          prereq,
          ...(getPrereq?.trim() ? { getPrereq } : {}),
        });
      });
    }
  }

  const ex = raw['executor'];
  let executor = '';
  let command: string | undefined;
  let cleanup: string | undefined;
  let elevation = false;
  if (!isMap(ex)) errors.push({ path: [...at, 'executor'], message: 'executor is missing; add {name: sh, command: …}' });
  else {
    const exName = ex['name'];
    if (typeof exName !== 'string' || exName === '')
      errors.push({
        path: [...at, 'executor', 'name'],
        message: 'executor.name is missing; write sh, bash, powershell, command_prompt or manual',
      });
    else executor = exName;
    command = optionalText(ex, 'command', [...at, 'executor'], errors);
    if (executor !== 'manual' && executor !== '' && command === undefined && ex['command'] === undefined) {
      errors.push({
        path: [...at, 'executor', 'command'],
        message: `executor.command is missing; add the command the ${executor} executor runs`,
      });
    }
    cleanup = optionalText(ex, 'cleanup_command', [...at, 'executor'], errors);
    const el = ex['elevation_required'];
    if (el !== undefined && el !== null && typeof el !== 'boolean')
      errors.push({ path: [...at, 'executor', 'elevation_required'], message: 'elevation_required must be true or false' });
    elevation = el === true;
  }
  if (errors.length > before || typeof name !== 'string') return undefined;
  return {
    name: name.trim(),
    ...(guid !== undefined ? { guid } : {}),
    description,
    platforms,
    args,
    ...(dependencyExecutor !== undefined ? { dependencyExecutor } : {}),
    dependencies,
    executor,
    ...(command !== undefined ? { command } : {}),
    ...(cleanup?.trim() ? { cleanup } : {}),
    elevation,
  };
}

const PLACEHOLDER = /#\{([^}]*)\}/g;

// Atomic Red Team ships tests that wipe the host (T1070.004 deletes the root filesystem, T1485
// overwrites disks); rollbacks cannot undo them, so they are imported only when asked.
const DESTRUCTIVE: readonly [RegExp, string][] = [
  [/--no-preserve-root/, 'rm --no-preserve-root'],
  [/\brm\s+(?:-{1,2}[\w-]+\s+)*\/(?:\*|\s|$|;|&|\|)/m, 'rm of /'],
  [/\bmkfs(?:\.\w+)?\b/, 'mkfs'],
  [/\bdd\b[^\n]*\bof=\/dev\/(?!null\b|zero\b|stdout\b|stderr\b)/, 'dd onto a device'],
  [/>\s*\/dev\/(?:sd|hd|vd|xvd|nvme|mmcblk)/, 'a write to a disk device'],
  [/\bshred\b[^\n]*\/dev\//, 'shred of a device'],
  [/\bchflags\s+-R\s+\S+\s+\/(?:\s|$)/m, 'chflags -R of /'],
  [/:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:/, 'a fork bomb'],
];

/** Why a command looks like it destroys the host, or undefined. */
export function destructiveReason(command: string): string | undefined {
  return DESTRUCTIVE.find(([re]) => re.test(command))?.[1];
}

/** Where a YAML path sits in the source, or its nearest existing parent. */
function locate(
  doc: Document.Parsed,
  position: (offset: number) => { line: number; column: number },
  path: PathKey[],
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    const start = node?.range?.[0];
    if (start !== undefined) return position(start);
  }
  return { line: 1, column: 1 };
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '') || 'test';

/** A literal string in an experiment file: `$` is written `$$` so that `${…}` is not read as configuration. */
const literal = (s: string) => s.replaceAll('$', '$$$$');

const whole = (message: string): AtomicImportResult => ({ ok: false, errors: [{ path: '', line: 1, column: 1, message }] });

/** Turn an Atomic Red Team technique file into experiment files, one per test Bulwark can run; never throws. */
export function importAtomic(text: string, options: AtomicImportOptions = {}): AtomicImportResult {
  if (typeof text !== 'string') return whole('the input is not text');
  const timeout = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400)
    return whole('timeoutSeconds must be a whole number of seconds from 1 to 86400');
  // Bounded like every YAML input (length, tokens, depth, the size with aliases expanded), with
  // the larger limits of a file read by the CLI rather than on a server.
  const read = parseYamlBounded(text, INPUT_LIMITS.atomicYaml);
  if (!read.ok) {
    return {
      ok: false,
      errors: read.errors.map((e) => ({
        path: '',
        line: e.line,
        column: e.column,
        message: e.syntax
          ? `not valid YAML: ${e.message.split('\n')[0]}`
          : e.code === 'TOO_LONG'
            ? `the file is longer than ${INPUT_LIMITS.atomicYaml.length} characters; no Atomic Red Team file is`
            : e.message,
      })),
    };
  }
  const { doc, value: raw, position } = read;
  const pending: Pending[] = [];
  const file = readAtomicFile(raw, pending);
  if (pending.length > 0 || file === undefined) {
    const errors = (pending.length > 0 ? pending : [{ path: [], message: 'not an Atomic Red Team technique file' }]).map((p) => ({
      path: formatPath(p.path),
      ...locate(doc, position, p.path),
      message: p.message,
    }));
    return { ok: false, errors };
  }

  const overrides = new Map(Object.entries(options.args ?? {}));
  const used = new Set<string>();
  const warnings: string[] = [];
  const experiments: ImportedAtomicTest[] = [];
  file.tests.forEach((test, i) => {
    if (!test) return;
    const n = i + 1;
    const label = `test ${n} '${test.name}'`;
    const skip = (why: string) => warnings.push(`skipped ${label}: ${why}`);
    if (!Object.hasOwn(SHELLS, test.executor)) {
      const how =
        test.executor === 'manual' ? 'it is a manual test (steps for a person)' : `its executor is ${test.executor}; only sh and bash run`;
      return skip(how);
    }
    if (test.elevation) return skip('it needs elevation (elevation_required: true); run it by hand as root on a test host');
    if (test.command === undefined || test.command.trim() === '') return skip('its command is empty');
    const depExecutor = test.dependencyExecutor ?? test.executor;
    if (test.dependencies.length > 0 && !Object.hasOwn(SHELLS, depExecutor)) {
      return skip(`its prerequisites run with ${depExecutor}; only sh and bash run`);
    }

    // Resolve arguments: override, else default; check overrides against the declared type.
    const values = new Map<string, string>();
    for (const [argName, spec] of test.args) {
      const override = overrides.get(argName);
      if (override !== undefined) used.add(argName);
      const value = override ?? spec.default;
      if (value === undefined) return skip(`input argument ${argName} has no default; pass --arg ${argName}=…`);
      if (override !== undefined && spec.type === 'integer' && !/^-?\d+$/.test(override.trim())) {
        return skip(`--arg ${argName}=${override} is not an integer`);
      }
      if (override !== undefined && spec.type === 'float' && !Number.isFinite(Number(override.trim()))) {
        return skip(`--arg ${argName}=${override} is not a number`);
      }
      values.set(argName, value);
    }
    const missing = new Set<string>();
    const substitute = (s: string) =>
      s.replace(PLACEHOLDER, (all, argName: string) => {
        const v = values.get(argName);
        if (v !== undefined) return v;
        if (argName === ATOMICS_FOLDER) return all;
        missing.add(argName);
        return all;
      });
    // The atomics folder (files a test ships with) is a placeholder of its own, inside arguments too.
    const folder = overrides.get(ATOMICS_FOLDER);
    const withFolder = (s: string) =>
      folder === undefined ? s : s.replace(/(?:#\{PathToAtomicsFolder\}|\$PathToAtomicsFolder|PathToAtomicsFolder)/g, () => folder);
    const expand = (s: string) => withFolder(substitute(s));
    const command = expand(test.command);
    const cleanup = test.cleanup !== undefined ? expand(test.cleanup) : undefined;
    const deps = test.dependencies.map((d) => ({
      ...d,
      prereq: expand(d.prereq),
      getPrereq: d.getPrereq !== undefined ? expand(d.getPrereq) : undefined,
    }));
    if (missing.size > 0) return skip(`it uses ${[...missing].map((m) => `#{${m}}`).join(', ')}, which input_arguments does not define`);
    const all = [command, cleanup ?? '', ...deps.flatMap((d) => [d.prereq, d.getPrereq ?? ''])].join('\n');
    const danger = options.allowDestructive ? undefined : destructiveReason(all);
    if (danger !== undefined) {
      return skip(`it looks destructive (${danger}) and no rollback can undo it; pass --allow-destructive to import it anyway`);
    }
    if (all.includes(ATOMICS_FOLDER)) {
      used.add(ATOMICS_FOLDER);
      return skip(`it uses files of the atomics folder; pass --arg ${ATOMICS_FOLDER}=/path/to/atomic-red-team/atomics`);
    }
    if (folder !== undefined) used.add(ATOMICS_FOLDER);

    const shell = SHELLS[test.executor]!;
    const depShell = SHELLS[depExecutor] ?? shell;
    const timeoutSeconds = timeout;
    const proc = (path: string, script: string): JsonValue => ({
      type: 'process',
      path,
      arguments: ['-c', literal(script)],
      timeout: timeoutSeconds,
    });
    if (deps.some((d) => d.getPrereq !== undefined) && !options.getPrereqs) {
      warnings.push(`${label} checks prerequisites before it runs (not-run when they are missing); pass --get-prereqs to fetch them first`);
    }
    const probes = deps.map((d, j): JsonValue => {
      const script =
        options.getPrereqs && d.getPrereq !== undefined
          ? `(\n${d.prereq}\n) && exit 0\n(\n${d.getPrereq}\n) || exit 1\n(\n${d.prereq}\n)`
          : d.prereq;
      return {
        type: 'probe',
        name: `prerequisite ${j + 1}: ${(d.description.split('\n')[0] ?? '').trim() || 'met'}`,
        tolerance: 0,
        provider: proc(depShell, script),
      };
    });
    const document: Record<string, JsonValue> = {
      title: `${file.technique} ${file.displayName}: ${test.name}`,
      description: test.description.trim() || test.name,
      tags: ['atomic-red-team', file.technique, ...test.platforms.filter((p) => p.trim() !== '')],
      techniques: [file.technique],
      ...(probes.length > 0 ? { 'steady-state-hypothesis': { title: 'the prerequisites of the atomic test are met', probes } } : {}),
      method: [{ type: 'action', name: `atomic ${file.technique}-${n}: ${test.name}`, provider: proc(shell, command) }],
      rollbacks:
        cleanup !== undefined ? [{ type: 'action', name: `cleanup of ${file.technique}-${n}`, provider: proc(shell, cleanup) }] : [],
      'x-atomic-red-team': {
        attack_technique: file.technique,
        test_number: n,
        name: test.name,
        ...(test.guid !== undefined ? { auto_generated_guid: test.guid } : {}),
        executor: test.executor,
        input_arguments: Object.fromEntries(values),
      },
    };
    if (cleanup === undefined) warnings.push(`${label} has no cleanup_command: its experiment has no rollback`);
    const header = `# Imported from Atomic Red Team ${file.technique} test ${n}${test.guid ? ` (${test.guid})` : ''}.\n# Add expect.detected for what your detection should raise.\n`;
    const out = header + stringify(document, { lineWidth: 0 });
    const check = parseExperiment(out);
    if (!check.ok) {
      const first = check.errors[0]!;
      return skip(`its experiment would not be valid (${first.path ? `${first.path}: ` : ''}${first.message})`);
    }
    experiments.push({
      fileName: `${file.technique}-${n}-${slug(test.name)}.yaml`,
      testNumber: n,
      name: test.name,
      ...(test.guid !== undefined ? { guid: test.guid } : {}),
      text: out,
    });
  });
  for (const k of overrides.keys()) {
    if (!used.has(k)) warnings.push(`--arg ${k} matches no input argument of an imported test`);
  }
  return { ok: true, technique: file.technique, displayName: file.displayName, experiments, warnings };
}
