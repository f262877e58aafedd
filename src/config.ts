/**
 * Configuration, parsed once and frozen. Precedence: command-line flags, then BULWARK_*
 * environment variables, then a YAML or JSON file (--config or BULWARK_CONFIG), then defaults.
 */
import { WebAuthnSettingsSchema } from './core/access/webauthn.ts';
import { OidcSettingsSchema } from './core/access/oidc.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { invalid } from './core/errors.ts';
import { parseYamlBounded } from './core/input/bounded-yaml.ts';
import { INPUT_LIMITS } from './core/input/limits.ts';
import { AllowExecutablesSchema, type ExecutableEntry } from './core/experiments/process-policy.ts';
import { LOG_FORMATS } from './core/signals/formats/registry.ts';
import { WebhookMappingSchema, type WebhookMapping } from './core/signals/webhook-mapping.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = path.resolve(here, '..');

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Signals in: webhook mappings by source name (the key names the route and the signals'
 * source, so a mapping need not repeat it) and the log files to tail. Mappings are checked with
 * the same schema that maps payloads, so a bad one fails at start with the path of the bad key.
 */
const SignalsSchema = z
  .strictObject({
    webhooks: z
      .record(z.string(), z.unknown())
      .default({})
      .transform((mappings, ctx) => {
        const out: Record<string, WebhookMapping> = {};
        for (const [key, value] of Object.entries(mappings)) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            ctx.addIssue({ code: 'custom', path: [key], message: 'must be a mapping (id, time, severity, labels, runId, body)' });
            continue;
          }
          const given = (value as Record<string, unknown>).source;
          if (given !== undefined && given !== key) {
            ctx.addIssue({
              code: 'custom',
              path: [key, 'source'],
              message: `must be "${key}", the key it is declared under, or be left out`,
            });
            continue;
          }
          const r = WebhookMappingSchema.safeParse({ ...value, source: key });
          if (r.success) out[key] = r.data;
          else for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: [key, ...i.path], message: i.message });
        }
        return out;
      }),
    files: z
      .array(
        z.strictObject({
          path: z.string().min(1),
          format: z.enum(LOG_FORMATS),
          source: z.string().regex(SOURCE_NAME, 'a source is 1–63 characters of a-z, 0-9, "_" and "-"').optional(),
          startAt: z.enum(['end', 'beginning']).default('end').describe('where to start in a file never read before'),
          utcOffsetMinutes: z
            .number()
            .int()
            .min(-1080)
            .max(1080)
            .optional()
            .describe("the writer's UTC offset, for zone-less times (ModSecurity's time_stamp)"),
        }),
      )
      .default([])
      .superRefine((files, ctx) => {
        const seen = new Set<string>();
        files.forEach((f, i) => {
          const key = path.resolve(f.path);
          if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `${f.path} is listed twice` });
          seen.add(key);
        });
      }),
  })
  .prefault({});

/** Experiment settings left out of the file: read by `bulwark serve` (serve.ts). */
export const EXPERIMENT_DEFAULTS = { pollSignalsMs: 500, recoverIntervalSeconds: 15 } as const;

const Schema = z.strictObject({
  dataDir: z.string().min(1).default('.bulwark'),
  db: z.string().min(1).optional().describe('sqlite:PATH or postgres://…; default sqlite:<dataDir>/bulwark.db'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(7600),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: z
    .enum(['auto', 'json', 'pretty'])
    .default('auto')
    .describe('json: one object per line; pretty: short readable lines; auto: pretty when stdout is a terminal, else json'),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  maxInFlight: z.coerce.number().int().min(1).max(100_000).default(256),
  maxEventLoopDelayMs: z.coerce
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(500)
    .describe('event-loop delay at which normal requests are refused (low ones at half, critical ones at five times)'),
  maxHeapFraction: z.coerce
    .number()
    .min(0.2)
    .max(0.95)
    .default(0.85)
    .describe('V8 heap in use (share of its limit) at which normal requests are refused (low at 0.10 less, critical at 0.10 more)'),
  webDir: z.string().optional(),
  origin: z
    .string()
    .regex(/^[^\s]+$/, 'the origin is one word without spaces, e.g. bulwark.example.com/prod')
    .optional(),
  checkpoint: z
    .strictObject({
      intervalSeconds: z.coerce.number().int().min(0).max(86_400).default(60),
      keyPath: z.string().optional(),
      keyName: z
        .string()
        .regex(/^[^\s+]+$/)
        .default('bulwark'),
      publishFile: z.string().optional(),
      webhookUrl: z.url().optional(),
    })
    .prefault({}),
  signals: SignalsSchema,
  /**
   * Experiments on this server: the executables (exact absolute paths; `/bin/sh` for shell
   * lines) that process providers may start, each with the environment variables an experiment
   * may set for it (none unless listed; loader and interpreter variables never) and, optionally,
   * the argument lists it may get (core/experiments/process-policy.ts); and the path prefixes
   * that file providers may change. Empty by default: such experiments are refused, since
   * applying an experiment must never mean running anything here.
   */
  experiments: z
    .strictObject({
      allowExecutables: AllowExecutablesSchema.default([]),
      allowPaths: z.array(z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path')).default([]),
      perTargetLimit: z.coerce.number().int().min(1).max(1000).default(8).describe('runs at once against one host'),
      perTargetLimitScope: z
        .enum(['process', 'database'])
        .optional()
        .describe(
          "where perTargetLimit holds: 'process' (each process counts its own runs) or 'database' (all processes on the database together); default process",
        ),
      pollSignalsMs: z.coerce
        .number()
        .int()
        .min(0)
        .max(60_000)
        .optional()
        .describe("how often a run waiting for detections reads the database's signals (other processes ingest them); 0: off; default 500"),
      recoverIntervalSeconds: z.coerce
        .number()
        .int()
        .min(0)
        .max(3600)
        .optional()
        .describe('how often to look for runs abandoned by a process that died; 0: at start only; default 15'),
    })
    .prefault({}),
  /** Sealed secrets: the key file every replica on the database shares (docs/access.md); default `<dataDir>/secret-keys.json`. */
  secrets: z
    .strictObject({
      keyFile: z.string().min(1).optional().describe('the sealing key file; every replica on one database needs the same one'),
    })
    .prefault({}),
  /** Access: security keys' relying party (docs/access.md). */
  access: z
    .strictObject({
      webauthn: WebAuthnSettingsSchema.optional().describe('security keys: rpId, rpName, origins; default on a loopback host: localhost'),
      oidc: OidcSettingsSchema.optional().describe('OIDC sign-in: issuer, clientId, clientSecret, redirectUri, claim, createPeople'),
    })
    .prefault({}),
});

export type Config = Readonly<z.infer<typeof Schema> & { db: string; webDir: string }>;

type Raw = Record<string, unknown>;

const ENV: Record<string, string[]> = {
  BULWARK_DATA_DIR: ['dataDir'],
  BULWARK_DB: ['db'],
  BULWARK_HOST: ['host'],
  BULWARK_PORT: ['port'],
  BULWARK_LOG_LEVEL: ['logLevel'],
  BULWARK_LOG_FORMAT: ['logFormat'],
  BULWARK_BODY_LIMIT_BYTES: ['bodyLimitBytes'],
  BULWARK_MAX_IN_FLIGHT: ['maxInFlight'],
  BULWARK_MAX_EVENT_LOOP_DELAY_MS: ['maxEventLoopDelayMs'],
  BULWARK_MAX_HEAP_FRACTION: ['maxHeapFraction'],
  BULWARK_WEB_DIR: ['webDir'],
  BULWARK_ORIGIN: ['origin'],
  BULWARK_CHECKPOINT_INTERVAL: ['checkpoint', 'intervalSeconds'],
  BULWARK_CHECKPOINT_KEY: ['checkpoint', 'keyPath'],
  BULWARK_CHECKPOINT_KEY_NAME: ['checkpoint', 'keyName'],
  BULWARK_CHECKPOINT_FILE: ['checkpoint', 'publishFile'],
  BULWARK_CHECKPOINT_WEBHOOK: ['checkpoint', 'webhookUrl'],
  BULWARK_SECRETS_KEY_FILE: ['secrets', 'keyFile'],
};

function setPath(target: Raw, keys: string[], value: unknown): void {
  let t = target;
  for (const k of keys.slice(0, -1)) t = (t[k] ??= {}) as Raw;
  t[keys.at(-1)!] = value;
}

function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? merge(out[k] as Raw, v as Raw) : v;
  }
  return out;
}

export function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw invalid(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  // Bounded like every YAML input: length, tokens, depth and the size with aliases expanded.
  const read = parseYamlBounded(text, INPUT_LIMITS.yaml);
  if (!read.ok) {
    const e = read.errors[0]!;
    const where = `at line ${e.line}, column ${e.column}`;
    throw invalid(
      e.syntax ? `config file ${file} is not valid YAML or JSON: ${e.message} ${where}` : `config file ${file}: ${e.message} (${where})`,
    );
  }
  const parsed = read.value;
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`config file ${file} must hold a mapping of settings`);
  return parsed as Raw;
}

/**
 * Build the configuration. `flags` are the command-line values (undefined when not given);
 * nested keys use dots, e.g. { 'checkpoint.intervalSeconds': 5 }.
 */
export function loadConfig(flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = (flags.config as string | undefined) ?? env.BULWARK_CONFIG;
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const fromEnv: Raw = {};
  for (const [name, keys] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') setPath(fromEnv, keys, env[name]);
  const fromFlags: Raw = {};
  for (const [k, v] of Object.entries(flags)) if (k !== 'config' && v !== undefined) setPath(fromFlags, k.split('.'), v);
  const raw = merge(merge(fromFile, fromEnv), fromFlags);
  const parsed = Schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw invalid(`invalid configuration: ${issues.join('; ')}`, { issues });
  }
  const c = parsed.data;
  return Object.freeze({
    ...c,
    checkpoint: Object.freeze({ ...c.checkpoint }),
    secrets: Object.freeze({ ...c.secrets }),
    access: Object.freeze({ ...c.access }),
    signals: Object.freeze({
      webhooks: Object.freeze({ ...c.signals.webhooks }),
      files: Object.freeze([...c.signals.files]) as typeof c.signals.files,
    }),
    experiments: Object.freeze({
      ...c.experiments,
      allowExecutables: Object.freeze<ExecutableEntry[]>([...c.experiments.allowExecutables]),
      allowPaths: Object.freeze([...c.experiments.allowPaths]) as string[],
    }),
    db: c.db ?? `sqlite:${path.join(c.dataDir, 'bulwark.db')}`,
    webDir: c.webDir ?? path.join(PACKAGE_ROOT, 'web', 'dist'),
  });
}
