/**
 * `bulwark techniques list|show|render` (the built-in attack library) and
 * `bulwark experiments import-atomic` (Atomic Red Team tests to experiment files). Neither needs
 * a database: they only read and write files.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { importAtomic } from '../core/experiments/atomic.ts';
import { findTechnique, TECHNIQUES } from '../core/experiments/techniques/catalogue.ts';
import { toExperimentYaml } from '../core/experiments/techniques/render.ts';
import type { Technique } from '../core/experiments/techniques/technique.ts';
import { suggest } from '../core/experiments/issues.ts';
import { CliExit, malformed } from './exit.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

interface JsonSchemaProperty {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchemaProperty;
  anyOf?: JsonSchemaProperty[];
}

/** The parameters of a technique as JSON Schema: names, types, defaults and bounds for help and coercion. */
function paramSchema(t: Technique<any>): { properties: Record<string, JsonSchemaProperty>; required: string[] } {
  const s = z.toJSONSchema(t.params, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaProperty>;
    required?: string[];
  };
  return { properties: s.properties ?? {}, required: s.required ?? [] };
}

function technique(id: string): Technique<any> {
  const t = findTechnique(id);
  if (t) return t;
  const guess = suggest(
    id,
    TECHNIQUES.map((x) => x.id),
  );
  throw malformed(`no technique '${id}'${guess ? `; did you mean '${guess}'?` : ''} (bulwark techniques list shows them all)`);
}

function splitPair(flag: string, pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at <= 0) throw malformed(`${flag} ${pair}: write name=value`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

function scalar(value: string, type: string | string[] | undefined): unknown {
  const types = Array.isArray(type) ? type : [type];
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/**
 * `--param k=v` pairs as typed values: numbers and booleans where the parameter is one, a JSON
 * list or object when the value starts with `[` or `{`, and a list param collects one item per
 * `--param`. Anything else stays a string, and the technique's own validation has the last word.
 */
export function paramsFromPairs(t: Technique<any>, pairs: readonly string[]): Record<string, unknown> {
  const { properties } = paramSchema(t);
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const [key, value] = splitPair('--param', pair);
    const prop = properties[key];
    if (/^\s*[[{]/.test(value)) {
      try {
        out[key] = JSON.parse(value) as unknown;
        continue;
      } catch {
        throw malformed(`--param ${key}: ${value} starts like JSON but is not valid JSON`);
      }
    }
    if (prop?.type === 'array') {
      const item = scalar(value, prop.items?.type);
      out[key] = [...(Array.isArray(out[key]) ? (out[key] as unknown[]) : []), item];
    } else {
      out[key] = scalar(value, prop?.type);
    }
  }
  return out;
}

function describeParam(name: string, p: JsonSchemaProperty, required: boolean): string {
  const typeOf = (q: JsonSchemaProperty | undefined): string =>
    q?.enum
      ? q.enum.map((v) => JSON.stringify(v)).join('|')
      : q?.anyOf
        ? [...new Set(q.anyOf.map(typeOf))].join(' or ')
        : String(q?.type ?? 'value');
  const type = p.type === 'array' ? `list of ${typeOf(p.items)}` : typeOf(p);
  const bounds = [
    p.minimum !== undefined || p.maximum !== undefined ? `${p.minimum ?? ''}..${p.maximum ?? ''}` : '',
    p.maxLength !== undefined ? `≤ ${p.maxLength} chars` : '',
    p.maxItems !== undefined ? `≤ ${p.maxItems} items` : '',
  ].filter(Boolean);
  const dflt = required ? 'required' : p.default !== undefined ? `default ${JSON.stringify(p.default)}` : 'optional';
  return `  ${name.padEnd(16)} ${type}${bounds.length ? ` (${bounds.join(', ')})` : ''}; ${dflt}\n${' '.repeat(19)}${p.description ?? ''}\n`;
}

const newRunId = () => randomBytes(10).toString('hex');

export function techniqueCommands(program: Command): void {
  const techniques = program.command('techniques').description('the built-in attack library');

  techniques
    .command('list')
    .description('every technique: id, ATT&CK ids, name')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        process.stdout.write(JSON.stringify(TECHNIQUES.map((t) => ({ id: t.id, attack: t.attack, name: t.name, kind: t.kind }))) + '\n');
        return;
      }
      for (const t of TECHNIQUES) process.stdout.write(`${t.id.padEnd(30)} ${t.attack.join(',').padEnd(22)} ${t.name}\n`);
    });

  techniques
    .command('show')
    .description('what a technique injects, how it reverts, and its parameters')
    .argument('<id>')
    .option('--json', 'print as JSON (parameters as JSON Schema)')
    .action((id: string, o: { json?: boolean }) => {
      const t = technique(id);
      const schema = paramSchema(t);
      if (o.json) {
        process.stdout.write(
          JSON.stringify({ id: t.id, name: t.name, attack: t.attack, kind: t.kind, description: t.description, params: schema }) + '\n',
        );
        return;
      }
      let out = `${t.id}: ${t.name}\nATT&CK: ${t.attack.join(', ')}\n${t.kind === 'file' ? 'Works on files given as parameters.' : 'Needs --target.'}\n\n${t.description}\n\nParameters (--param name=value):\n`;
      for (const [name, p] of Object.entries(schema.properties)) out += describeParam(name, p, schema.required.includes(name));
      process.stdout.write(out);
    });

  techniques
    .command('render')
    .description('print a complete experiment file for a technique')
    .argument('<id>')
    .option('--target <url>', 'the base URL requests go to (http and TLS techniques)')
    .option('--param <name=value>', 'a parameter; repeat for lists (see techniques show ID)', collect, [] as string[])
    .option('--run-id <id>', 'the value the file declares for bulwark_run_id (each run replaces it with its own id; default: random)')
    .option('--within <duration>', "deadline of every expected detection, e.g. '30s'")
    .option('--no-detect', 'leave out the suggested detections')
    .action((id: string, o: { target?: string; param: string[]; runId?: string; within?: string; detect: boolean }) => {
      const t = technique(id);
      const params = paramsFromPairs(t, o.param);
      // The technique takes the clock as a parameter (pure); the edge supplies it.
      if ('now' in paramSchema(t).properties && params['now'] === undefined) params['now'] = Math.floor(Date.now() / 1000);
      const yaml = toExperimentYaml(
        t,
        params,
        { ...(o.target !== undefined ? { target: o.target } : {}), runId: o.runId ?? newRunId() },
        { detect: o.detect, ...(o.within !== undefined ? { within: o.within } : {}) },
      );
      process.stdout.write(yaml);
    });

  const experiments =
    program.commands.find((c) => c.name() === 'experiments') ?? program.command('experiments').description('experiment files');
  importAtomicCommand(experiments);
}

/** `import-atomic` under an `experiments` command group. */
export function importAtomicCommand(experiments: Command): void {
  experiments
    .command('import-atomic')
    .description('turn an Atomic Red Team technique file into experiment files (sh and bash tests)')
    .argument('<file>', 'an atomics/T…/T….yaml file')
    .option('--out <dir>', 'where to write the experiment files', '.')
    .option('--arg <name=value>', 'an input argument over its default; repeat for more', collect, [] as string[])
    .option('--get-prereqs', 'let the prerequisite probes fetch missing prerequisites')
    .option('--timeout <seconds>', 'timeout of each command', '300')
    .option('--force', 'overwrite experiment files that exist')
    .option('--allow-destructive', 'also import tests that look like they destroy the host (rm -rf /, mkfs)')
    .action(
      (
        file: string,
        o: { out: string; arg: string[]; getPrereqs?: boolean; timeout: string; force?: boolean; allowDestructive?: boolean },
      ) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          throw malformed(`cannot read ${file}: ${(e as Error).message}`);
        }
        if (!/^\d{1,5}$/.test(o.timeout)) throw malformed(`--timeout must be whole seconds, got "${o.timeout}"`);
        const args = Object.fromEntries(o.arg.map((a) => splitPair('--arg', a)));
        const r = importAtomic(text, {
          args,
          getPrereqs: !!o.getPrereqs,
          timeoutSeconds: Number(o.timeout),
          allowDestructive: !!o.allowDestructive,
        });
        if (!r.ok) {
          const lines = r.errors.map((e) => `${file}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ''}${e.message}`);
          throw malformed(`${file} is not a usable Atomic Red Team file:\n${lines.join('\n')}`);
        }
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        if (r.experiments.length === 0) throw new CliExit(1, `no test of ${file} can be imported (see the warnings above)`);
        const dir = resolve(o.out);
        const targets = r.experiments.map((e) => ({ path: join(dir, e.fileName), text: e.text }));
        const existing = targets.filter((t) => existsSync(t.path)).map((t) => t.path);
        if (existing.length > 0 && !o.force)
          throw malformed(`${existing.join(', ')} ${existing.length === 1 ? 'exists' : 'exist'} already; pass --force to overwrite`);
        mkdirSync(dir, { recursive: true });
        for (const t of targets) {
          writeFileSync(t.path, t.text);
          process.stdout.write(`${t.path}\n`);
        }
      },
    );
}
