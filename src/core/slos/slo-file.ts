/**
 * SLO files: Bulwark's own format (`apiVersion: bulwark/v1`, docs/slos.md) and OpenSLO v1
 * (`apiVersion: openslo/v1`, `kind: SLO` with its indicator inline). Both read through the bounded
 * YAML parse experiment files use, and both give the same model (types.ts). Errors carry the line
 * and column of what to fix. Pure.
 */
import { z } from 'zod';
import type { Document } from 'yaml';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { isTimeZone, parseWall, toInstant } from './calendar.ts';
import { parsePromDuration, type CalendarUnit } from './duration.ts';
import { checkRrule } from './exclusions.ts';
import { importOpenSlo } from './openslo.ts';
import { prometheusSliSchema, toPrometheusSli } from './prometheus.ts';
import {
  duration,
  normaliseWall,
  pickSelector,
  runSelectorSchema,
  signalSliSchema,
  SLO_NAME,
  timeToDetectSchema,
  type PendingIssue,
} from './schema-parts.ts';

export { SLO_NAME, type PendingIssue };
import type { Slo } from './types.ts';

export const MAX_SLO_FILE_LENGTH = INPUT_LIMITS.yaml.length;

export interface SloIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

export type SloParse = { ok: true; slos: Slo[]; warnings: SloIssue[] } | { ok: false; errors: SloIssue[] };

const percent = (what: string) => z.number().gt(0, `${what} is a percentage above 0`).lt(100, `${what} is a percentage below 100`);
const label = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'a Prometheus label name');

const CALENDAR_UNITS = ['day', 'week', 'month', 'quarter', 'year'] as const;

const wall = z.string().refine((s) => parseWall(s) !== undefined, 'a wall-clock time YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss');
const timeZone = z.string().refine(isTimeZone, 'an IANA time zone such as UTC or Europe/Paris').default('UTC');
export const MAX_EXCLUSIONS = 50;

/** A maintenance window: from `start` for `duration` (or to `end`), once or at each occurrence of `rrule`. */
const exclusionSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/, 'a name of a-z, 0-9 and "-", at most 64'),
    start: wall,
    duration: duration('duration').optional(),
    end: wall.optional(),
    rrule: z
      .string()
      .optional()
      .superRefine((r, ctx) => {
        const why = r === undefined ? undefined : checkRrule(r);
        if (why) ctx.addIssue({ code: 'custom', message: `rrule: ${why}` });
      }),
    timeZone,
  })
  .superRefine((x, ctx) => {
    if ((x.duration === undefined) === (x.end === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give the window its duration (e.g. 2h) or its end, one of them', path: ['duration'] });
      return;
    }
    if (x.end !== undefined && !(parseWall(x.end) && wallMs(x.end) > wallMs(x.start))) {
      ctx.addIssue({ code: 'custom', message: 'end must be after start', path: ['end'] });
    }
    if (x.end !== undefined && x.rrule !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a recurring window takes a duration, not an end', path: ['end'] });
    }
    // The rule alone was checked above; with its start, its day of the month must exist too.
    const startDay = parseWall(x.start)?.d;
    if (x.rrule !== undefined && startDay !== undefined && checkRrule(x.rrule) === undefined) {
      const why = checkRrule(x.rrule, startDay);
      if (why) ctx.addIssue({ code: 'custom', message: `rrule: ${why}`, path: ['rrule'] });
    }
  });

const wallMs = (s: string) => {
  const w = parseWall(s)!;
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
};

export const bulwarkSloSchema = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('SLO'),
  name: z.string().regex(SLO_NAME, 'a name is 1–64 characters of a-z, 0-9 and "-", not starting or ending with "-"'),
  displayName: z.string().min(1).max(200).optional(),
  description: z.string().max(2000).default(''),
  service: z.string().min(1).max(100),
  owner: z.string().min(1).max(200).optional(),
  objective: percent('objective'),
  window: z.union([
    duration('window'),
    z.strictObject({
      calendar: z.enum(CALENDAR_UNITS),
      timeZone,
      start: wall.optional(),
    }),
  ]),
  budgeting: z
    .union([
      z.literal('occurrences'),
      z.strictObject({ method: z.literal('occurrences') }),
      z.strictObject({ method: z.literal('timeslices'), slice: duration('slice'), sliceTarget: percent('sliceTarget') }),
      z.strictObject({ method: z.literal('ratio-timeslices'), slice: duration('slice') }),
    ])
    .default('occurrences'),
  sli: z.union([
    z.strictObject({ experiments: runSelectorSchema }),
    z.strictObject({ timeToDetect: timeToDetectSchema }),
    z.strictObject({ signals: signalSliSchema }),
    z.strictObject({ prometheus: prometheusSliSchema }),
  ]),
  alerting: z
    .strictObject({
      strategy: z.enum(['sloth', 'pyrra']).default('sloth'),
      minEvents: z.number().int().min(1).max(1_000_000).default(5),
      page: z.boolean().default(true),
      ticket: z.boolean().default(true),
    })
    .prefault({}),
  policy: z
    .strictObject({
      freezeBelow: z.number().min(0).max(100),
      postmortemAbove: z.number().gt(0).max(100).optional(),
      postmortemBelow: z.number().min(0).max(100).optional(),
      pageOwner: z.boolean().default(false),
    })
    .optional(),
  exclusions: z.array(exclusionSchema).max(MAX_EXCLUSIONS, `at most ${MAX_EXCLUSIONS} exclusion windows`).default([]),
  labels: z.record(label, z.string().max(200)).default({}),
});

/** Parse an SLO file (Bulwark's or OpenSLO v1): every SLO in it, or every error with line and column. */
export function parseSloFile(text: string): SloParse {
  const read = parseYamlBounded(text, INPUT_LIMITS.yaml);
  if (!read.ok) return { ok: false, errors: read.errors.map((e) => ({ path: '', line: e.line, column: e.column, message: e.message })) };
  const locate = (i: PendingIssue): SloIssue => ({
    path: i.path.join('.'),
    ...read.position(offsetOf(read.doc, i.path)),
    message: i.message,
  });
  const v = read.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return {
      ok: false,
      errors: [{ path: '', line: 1, column: 1, message: 'an SLO file is a mapping with apiVersion bulwark/v1 or openslo/v1' }],
    };
  }
  const apiVersion = (v as Record<string, unknown>).apiVersion;
  if (apiVersion === 'openslo/v1') {
    const r = importOpenSlo(v);
    if (!r.ok) return { ok: false, errors: r.errors.map(locate) };
    return { ok: true, slos: r.slos, warnings: r.warnings.map(locate) };
  }
  if (apiVersion !== 'bulwark/v1') {
    const hint =
      apiVersion === 'prometheus/v1' || (v as Record<string, unknown>).version === 'prometheus/v1'
        ? ': a Sloth prometheus/v1 spec gives rules (bulwark slo rules FILE), it is not applied'
        : '';
    return { ok: false, errors: [locate({ path: ['apiVersion'], message: `apiVersion must be bulwark/v1 or openslo/v1${hint}` })] };
  }
  const r = bulwarkSloSchema.safeParse(v);
  if (!r.success)
    return { ok: false, errors: r.error.issues.map((i) => locate({ path: i.path as (string | number)[], message: i.message })) };
  const limits = prometheusLimits(r.data);
  if (limits.length > 0) return { ok: false, errors: limits.map(locate) };
  return { ok: true, slos: [fromBulwark(r.data)], warnings: [] };
}

/** What a Prometheus SLI does not support yet: budgeting by slices, exclusion windows. */
export function prometheusLimits(f: { sli: object; budgeting: unknown; exclusions: unknown[] }): PendingIssue[] {
  if (!('prometheus' in f.sli)) return [];
  const out: PendingIssue[] = [];
  const b = f.budgeting;
  if (!(b === 'occurrences' || (typeof b === 'object' && b !== null && (b as { method?: unknown }).method === 'occurrences')))
    out.push({ path: ['budgeting'], message: 'a Prometheus SLI is budgeted by occurrences (timeslices are not read from Prometheus yet)' });
  if (f.exclusions.length > 0)
    out.push({ path: ['exclusions'], message: 'exclusion windows are not applied to a Prometheus SLI yet; leave them out' });
  return out;
}

const ANCHORS: Record<(typeof CALENDAR_UNITS)[number], string> = {
  day: '2000-01-01T00:00:00',
  // A Monday: weeks start on Monday (ISO 8601).
  week: '2000-01-03T00:00:00',
  month: '2000-01-01T00:00:00',
  quarter: '2000-01-01T00:00:00',
  year: '2000-01-01T00:00:00',
};

function fromBulwark(f: z.output<typeof bulwarkSloSchema>): Slo {
  const window: Slo['window'] =
    typeof f.window === 'string'
      ? { kind: 'rolling', ms: parsePromDuration(f.window)!, text: f.window }
      : {
          kind: 'calendar',
          count: 1,
          unit: f.window.calendar as CalendarUnit,
          startTime: f.window.start ? normaliseWall(f.window.start) : ANCHORS[f.window.calendar],
          timeZone: f.window.timeZone,
          text: `calendar ${f.window.calendar} (${f.window.timeZone})`,
        };
  const b = f.budgeting;
  const budgeting: Slo['budgeting'] =
    b === 'occurrences' || b.method === 'occurrences'
      ? { method: 'occurrences' }
      : b.method === 'timeslices'
        ? { method: 'timeslices', sliceMs: parsePromDuration(b.slice)!, sliceTarget: b.sliceTarget / 100 }
        : { method: 'ratio-timeslices', sliceMs: parsePromDuration(b.slice)! };
  let sli: Slo['sli'];
  if ('experiments' in f.sli) sli = { source: 'experiments', select: pickSelector(f.sli.experiments) };
  else if ('signals' in f.sli) sli = { source: 'signals', good: f.sli.signals.good, total: f.sli.signals.total };
  else if ('prometheus' in f.sli) sli = toPrometheusSli(f.sli.prometheus);
  else {
    const t = f.sli.timeToDetect;
    sli = { source: 'time-to-detect', select: pickSelector(t), thresholdMs: parsePromDuration(t.under)! };
  }
  return {
    name: f.name,
    displayName: f.displayName ?? f.name,
    description: f.description,
    service: f.service,
    ...(f.owner !== undefined ? { owner: f.owner } : {}),
    objective: f.objective / 100,
    window,
    budgeting,
    sli,
    alerting: f.alerting,
    ...(f.policy
      ? {
          policy: {
            freezeBelow: f.policy.freezeBelow / 100,
            ...(f.policy.postmortemAbove !== undefined ? { postmortemAbove: f.policy.postmortemAbove / 100 } : {}),
            ...(f.policy.postmortemBelow !== undefined ? { postmortemBelow: f.policy.postmortemBelow / 100 } : {}),
            pageOwner: f.policy.pageOwner,
          },
        }
      : {}),
    exclusions: f.exclusions.map((x) => ({
      name: x.name,
      start: normaliseWall(x.start),
      // An end is a wall-clock time in the same zone: the length is between the two instants.
      durationMs:
        x.duration !== undefined
          ? parsePromDuration(x.duration)!
          : toInstant(parseWall(x.end!)!, x.timeZone) - toInstant(parseWall(x.start)!, x.timeZone),
      ...(x.rrule !== undefined ? { rrule: x.rrule.replace(/^RRULE:/i, '').toUpperCase() } : {}),
      timeZone: x.timeZone,
    })),
    labels: f.labels,
    format: 'bulwark/v1',
  };
}

/** Where in the text a path points: its node, or the nearest one above it that exists. */
function offsetOf(doc: Document.Parsed, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return 0;
}
