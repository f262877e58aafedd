/**
 * Renders a technique as a complete experiment file — the same YAML a person would write, which
 * `parseExperiment` reads back into exactly the activities the technique built. The file carries
 * its blast radius (the target's host and path, or the files touched), the technique's
 * expectations, a canary run id in configuration and the technique and parameters it came from.
 */
import { Document } from 'yaml';
import { invalid } from '../../errors.ts';
import type { Activity, JsonValue, Provider, SecretEntry, Step, Tolerance } from '../types.ts';
import {
  parseParams,
  parseTarget,
  RUN_ID_KEY,
  targetPrefix,
  type Technique,
  type TechniqueBuild,
  type TechniqueContext,
} from './technique.ts';

export interface RenderOptions {
  /** Include the technique's suggested detections (default true). */
  detect?: boolean;
  /** Deadline for every detection, e.g. '30s' (default: the technique's, 2m). */
  within?: string;
  /** The run's maximum duration (default '10m'). */
  maxDuration?: string;
}

const seconds = (ms: number) => ms / 1000;

function toleranceToFile(t: Tolerance): JsonValue {
  switch (t.kind) {
    case 'bool':
    case 'int':
    case 'string':
      return t.value;
    case 'list':
      return t.values;
    case 'range':
      return { type: 'range', range: [t.min, t.max], ...(t.target !== undefined ? { target: t.target } : {}) };
    case 'regex':
      return { type: 'regex', pattern: t.pattern, ...(t.target !== undefined ? { target: t.target } : {}) };
    case 'jsonpath':
      return {
        type: 'jsonpath',
        path: t.path,
        ...(t.expect !== undefined ? { expect: t.expect } : {}),
        ...(t.count !== undefined ? { count: t.count } : {}),
        ...(t.target !== undefined ? { target: t.target } : {}),
      };
    case 'probe':
      return activityToFile(t.probe);
  }
}

function providerToFile(p: Provider): JsonValue {
  switch (p.type) {
    case 'http': {
      const t = p.timeout;
      return {
        type: 'http',
        url: p.url,
        method: p.method,
        ...(Object.keys(p.headers).length > 0 ? { headers: p.headers } : {}),
        ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
        ...(p.body !== undefined ? { body: p.body } : {}),
        ...(t ? { timeout: t.connectMs === t.readMs ? seconds(t.readMs) : [seconds(t.connectMs), seconds(t.readMs)] } : {}),
        ...(p.verifyTls ? {} : { verify_tls: false }),
        ...(p.expectedStatus ? { expected_status: p.expectedStatus } : {}),
        ...(p.maxRetries > 0 ? { max_retries: p.maxRetries } : {}),
        ...(p.secrets.length > 0 ? { secrets: p.secrets } : {}),
      };
    }
    case 'process':
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
        ...(p.timeoutMs !== undefined ? { timeout: seconds(p.timeoutMs) } : {}),
        ...(p.secrets.length > 0 ? { secrets: p.secrets } : {}),
      };
    case 'tcp':
      return {
        type: 'tcp',
        operation: p.operation,
        host: p.host,
        port: p.port,
        ...(p.timeoutMs !== undefined ? { timeout: seconds(p.timeoutMs) } : {}),
        ...(p.send !== undefined ? { send: p.send } : {}),
      };
    case 'file':
      return {
        type: 'file',
        operation: p.operation,
        path: p.path,
        ...(p.content !== undefined ? { content: p.content } : {}),
        ...(p.find !== undefined ? { find: p.find } : {}),
        ...(p.replace !== undefined ? { replace: p.replace } : {}),
        ...(p.backup !== undefined ? { backup: p.backup } : {}),
      };
    case 'python':
      return { type: 'python', module: p.module, func: p.func, ...(p.arguments !== undefined ? { arguments: p.arguments } : {}) };
  }
}

/** An activity as an experiment file writes it (Chaos Toolkit's keys, seconds). */
export function activityToFile(a: Activity): JsonValue {
  const pauses = {
    ...(a.pauses.beforeMs !== undefined ? { before: seconds(a.pauses.beforeMs) } : {}),
    ...(a.pauses.afterMs !== undefined ? { after: seconds(a.pauses.afterMs) } : {}),
  };
  return {
    type: a.type,
    name: a.name,
    provider: providerToFile(a.provider),
    ...(a.tolerance !== undefined ? { tolerance: toleranceToFile(a.tolerance) } : {}),
    ...(Object.keys(pauses).length > 0 ? { pauses } : {}),
    ...(a.background ? { background: true } : {}),
    ...(a.timeoutMs !== undefined ? { timeout: seconds(a.timeoutMs) } : {}),
    ...(a.controls.length > 0 ? { controls: a.controls } : {}),
  };
}

/** A method or rollback entry as a file writes it: the activity, or `{ref: name}` where it repeats one. */
export function stepToFile(s: Step): JsonValue {
  return 'ref' in s ? { ref: s.ref } : activityToFile(s);
}

function secretsToFile(secrets: Record<string, Record<string, SecretEntry>>): JsonValue {
  return Object.fromEntries(
    Object.entries(secrets).map(([scope, keys]) => [
      scope,
      Object.fromEntries(Object.entries(keys).map(([k, e]) => [k, e.kind === 'env' ? { type: 'env', key: e.key } : e.value])),
    ]),
  );
}

/** Hosts and path prefixes the activities touch: the target's host and path for requests, the files themselves. */
export function blastRadiusOf(
  technique: Technique<any>,
  build: TechniqueBuild,
  ctx: TechniqueContext,
): { hosts: string[]; paths: string[] } {
  if (technique.kind !== 'file') {
    const target = parseTarget(ctx.target);
    return { hosts: [target.hostname.replace(/^\[|\]$/g, '')], paths: technique.kind === 'http' ? [targetPrefix(target) || '/'] : [] };
  }
  const paths = new Set<string>(build.touches ?? []);
  for (const s of [...build.method, ...build.rollbacks]) {
    const p = ('ref' in s ? s.activity : s).provider;
    if (p.type === 'file') {
      paths.add(p.path);
      if (p.backup !== undefined) paths.add(p.backup);
    }
  }
  return { hosts: [], paths: [...paths] };
}

/** The experiment file for a technique as plain data, and the notes to show beside it. */
export function experimentDocument(
  technique: Technique<any>,
  rawParams: unknown,
  ctx: TechniqueContext,
  options: RenderOptions = {},
): { document: Record<string, JsonValue>; notes: string[] } {
  const parsed = parseParams(technique, rawParams);
  if (!parsed.ok) throw invalid(`${technique.id}: ${parsed.errors.join('; ')}`, { errors: parsed.errors });
  const build = technique.build(parsed.params, ctx);
  const target = technique.kind === 'file' ? undefined : parseTarget(ctx.target).href;
  const hints = build.expectHints;
  const detected = options.detect === false ? [] : (hints?.detected ?? []).map((d) => ({ ...d, within: options.within ?? d.within }));
  const expect: Record<string, JsonValue> = {
    ...(hints?.blocked !== undefined ? { blocked: { tolerance: hints.blocked } } : {}),
    ...(detected.length > 0 ? { detected } : {}),
  };
  const shown = Object.fromEntries(
    Object.entries(parsed.params as Record<string, JsonValue>).filter(([k]) => !(technique.secretParams ?? []).includes(k)),
  );
  const document: Record<string, JsonValue> = {
    title: `${technique.name}${target ? ` against ${target}` : ''}`,
    description: technique.description,
    tags: ['bulwark-technique', technique.id],
    techniques: technique.attack,
    configuration: { [RUN_ID_KEY]: ctx.runId },
    ...(build.secrets ? { secrets: secretsToFile(build.secrets) } : {}),
    method: build.method.map(stepToFile),
    rollbacks: build.rollbacks.map(stepToFile),
    ...(Object.keys(expect).length > 0 ? { expect } : {}),
    safety: { maxDuration: options.maxDuration ?? '10m', blastRadius: blastRadiusOf(technique, build, ctx), dryRun: false },
    'x-bulwark-technique': { id: technique.id, params: shown },
  };
  return { document, notes: build.notes ?? [] };
}

/** A complete experiment file (YAML) for the technique with these parameters; throws DomainError `invalid` on bad parameters or target. */
export function toExperimentYaml(
  technique: Technique<any>,
  rawParams: unknown,
  ctx: TechniqueContext,
  options: RenderOptions = {},
): string {
  const { document, notes } = experimentDocument(technique, rawParams, ctx, options);
  const doc = new Document(document);
  doc.commentBefore = [
    ` ${technique.id}: ${technique.name} (${technique.attack.join(', ')}).`,
    ` Rendered by \`bulwark techniques render ${technique.id}\`; edit freely.`,
    ` Each run sets ${RUN_ID_KEY} to its own id, so canaries name the run that planted them.`,
    ...notes.map((n) => ` Note: ${n}.`),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}
