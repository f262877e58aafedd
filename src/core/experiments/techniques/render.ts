/**
 * Renders a technique as a complete experiment file — the same YAML a person would write, which
 * `parseExperiment` reads back into exactly the activities the technique built. The file carries
 * its blast radius (the target's host and path, or the files touched), the technique's
 * expectations, a canary run id in configuration and the technique and parameters it came from.
 */
import { Document } from 'yaml';
import { invalid } from '../../errors.ts';
import { providerType } from '../providers/index.ts';
import type { Activity, JsonValue, SecretEntry, Step, Tolerance } from '../types.ts';
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

/** An activity as an experiment file writes it (Chaos Toolkit's keys, seconds). */
export function activityToFile(a: Activity): JsonValue {
  const pauses = {
    ...(a.pauses.beforeMs !== undefined ? { before: seconds(a.pauses.beforeMs) } : {}),
    ...(a.pauses.afterMs !== undefined ? { after: seconds(a.pauses.afterMs) } : {}),
  };
  return {
    type: a.type,
    name: a.name,
    provider: providerType(a.provider).toFile(a.provider),
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
      Object.fromEntries(
        Object.entries(keys).map(([k, e]) => [
          k,
          e.kind === 'env' ? { type: 'env', key: e.key } : e.kind === 'sealed' ? { type: 'sealed', name: e.name } : e.value,
        ]),
      ),
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
    for (const f of providerType(p).files?.(p) ?? []) paths.add(f);
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
