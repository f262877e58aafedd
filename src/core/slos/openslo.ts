/**
 * OpenSLO v1 (https://github.com/OpenSLO/OpenSLO): a `kind: SLO` document with its indicator
 * inline, read into Bulwark's model. Each objective becomes one SLO (named after the SLO, and
 * after the objective's displayName when there are several). A metric source of `type: Bulwark`
 * names Bulwark's own SLIs (`spec.experiments` or `spec.timeToDetect`, as in Bulwark's format);
 * a ratioMetric of `type: Prometheus` whose spec names a `url` is read from that Prometheus
 * (prometheus.ts); any other type is kept as queries (external), for rules, since Bulwark does
 * not query it.
 *
 * Mapped: ratioMetric (good or bad, and total), thresholdMetric, timeWindow (rolling, or calendar
 * with startTime and timeZone), budgetingMethod (Occurrences, Timeslices, RatioTimeslices),
 * objectives (target or targetPercent, op and value, timeSliceTarget, timeSliceWindow). Not
 * mapped, with a warning: alertPolicies (Bulwark's alerting defaults apply), indicatorRef (an SLI
 * in another document; put it inline), and `ratioMetric.raw`.
 */
import { z } from 'zod';
import { parseOpenSloDuration, parsePromDuration, unitMs } from './duration.ts';
import {
  normaliseWall,
  pickSelector,
  runSelectorSchema,
  signalSliSchema,
  SLO_NAME,
  timeToDetectSchema,
  type PendingIssue,
} from './schema-parts.ts';
import { isTimeZone, parseWall } from './calendar.ts';
import { prometheusSliSchema, toPrometheusSli } from './prometheus.ts';
import type { Budgeting, Sli, Slo, SloWindow } from './types.ts';

const dur = z.string().refine((s) => parseOpenSloDuration(s) !== undefined, 'an OpenSLO duration such as 5m, 1h, 28d, 2w, 1M, 1Q or 1Y');
const metricSource = z.object({ type: z.string().min(1).max(100), spec: z.record(z.string(), z.unknown()).default({}) });
const metric = z.object({ metricSource });

const indicatorSpec = z.union([
  z.object({
    ratioMetric: z.object({
      counter: z.boolean().optional(),
      good: metric.optional(),
      bad: metric.optional(),
      total: metric,
      raw: z.unknown().optional(),
    }),
  }),
  z.object({ thresholdMetric: metric }),
]);

const objective = z
  .object({
    displayName: z.string().max(200).optional(),
    op: z.enum(['lt', 'lte', 'gt', 'gte']).optional(),
    value: z.number().optional(),
    target: z.number().gt(0).lt(1).optional(),
    targetPercent: z.number().gt(0).lt(100).optional(),
    timeSliceTarget: z.number().gt(0).max(1).optional(),
    timeSliceWindow: dur.optional(),
  })
  .refine((o) => o.target !== undefined || o.targetPercent !== undefined, { message: 'an objective needs target (0–1) or targetPercent' });

const sloDoc = z.object({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLO', { message: 'kind must be SLO: Bulwark reads SLO documents with their indicator inline' }),
  metadata: z.object({
    name: z.string().regex(SLO_NAME, 'metadata.name is 1–64 characters of a-z, 0-9 and "-"'),
    displayName: z.string().max(200).optional(),
    labels: z.record(z.string(), z.unknown()).optional(),
  }),
  spec: z.object({
    description: z.string().max(2000).optional(),
    service: z.string().min(1).max(100),
    indicator: z
      .object({
        metadata: z
          .object({ name: z.string().max(200) })
          .partial()
          .optional(),
        spec: indicatorSpec,
      })
      .optional(),
    indicatorRef: z.string().optional(),
    timeWindow: z
      .array(
        z.object({
          duration: dur,
          isRolling: z.boolean().default(false),
          calendar: z.object({ startTime: z.string(), timeZone: z.string() }).optional(),
        }),
      )
      .length(1, 'timeWindow holds exactly one window'),
    budgetingMethod: z.enum(['Occurrences', 'Timeslices', 'RatioTimeslices']),
    objectives: z.array(objective).min(1),
    alertPolicies: z.unknown().optional(),
  }),
});

export type OpenSloImport = { ok: true; slos: Slo[]; warnings: PendingIssue[] } | { ok: false; errors: PendingIssue[] };

export function importOpenSlo(value: unknown): OpenSloImport {
  const r = sloDoc.safeParse(value);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })) };
  const d = r.data;
  const errors: PendingIssue[] = [];
  const warnings: PendingIssue[] = [];
  if (!d.spec.indicator) {
    return {
      ok: false,
      errors: [
        {
          path: ['spec', 'indicatorRef'],
          message: 'Bulwark reads the indicator inline (spec.indicator); indicatorRef to another document is not supported',
        },
      ],
    };
  }
  if (Array.isArray(d.spec.alertPolicies) && d.spec.alertPolicies.length > 0) {
    warnings.push({
      path: ['spec', 'alertPolicies'],
      message: "alertPolicies are not mapped; Bulwark's multiwindow burn-rate alerts (sloth strategy) apply",
    });
  }

  const tw = d.spec.timeWindow[0]!;
  const dd = parseOpenSloDuration(tw.duration)!;
  let window: SloWindow;
  if (tw.isRolling) {
    const unit = unitMs(dd.unit);
    if (unit === undefined) {
      errors.push({
        path: ['spec', 'timeWindow', 0, 'duration'],
        message: 'a rolling window has a fixed length: use m, h, d or w (1M, 1Q, 1Y are calendar units)',
      });
      return { ok: false, errors };
    }
    window = { kind: 'rolling', ms: unit * dd.count, text: tw.duration };
  } else {
    const cal = tw.calendar;
    if (!cal)
      return {
        ok: false,
        errors: [
          {
            path: ['spec', 'timeWindow', 0],
            message: 'a calendar window (isRolling: false) needs calendar.startTime and calendar.timeZone',
          },
        ],
      };
    if (!parseWall(cal.startTime))
      errors.push({ path: ['spec', 'timeWindow', 0, 'calendar', 'startTime'], message: 'startTime is YYYY-MM-DD HH:mm:ss' });
    if (!isTimeZone(cal.timeZone))
      errors.push({ path: ['spec', 'timeWindow', 0, 'calendar', 'timeZone'], message: `unknown time zone ${cal.timeZone}` });
    if (errors.length) return { ok: false, errors };
    if (dd.unit === 'minute' || dd.unit === 'hour') {
      warnings.push({
        path: ['spec', 'timeWindow', 0, 'duration'],
        message: `a calendar window of ${tw.duration} is ${dd.count} ${dd.unit}${dd.count > 1 ? 's' : ''} (OpenSLO: m is minutes); a month is ${dd.count}M`,
      });
    }
    window = {
      kind: 'calendar',
      count: dd.count,
      unit: dd.unit,
      startTime: normaliseWall(cal.startTime),
      timeZone: cal.timeZone,
      text: `calendar ${tw.duration} from ${cal.startTime} (${cal.timeZone})`,
    };
  }

  const sli = toSli(d.spec.indicator.spec, errors);
  if (!sli) return { ok: false, errors };
  if (sli.source === 'prometheus' && d.spec.budgetingMethod !== 'Occurrences') {
    return {
      ok: false,
      errors: [
        {
          path: ['spec', 'budgetingMethod'],
          message: 'a Prometheus SLI Bulwark reads is budgeted by Occurrences (timeslices are not read from Prometheus yet)',
        },
      ],
    };
  }

  const slos: Slo[] = [];
  d.spec.objectives.forEach((o, i) => {
    const at = ['spec', 'objectives', i];
    const objectiveRatio = o.target ?? o.targetPercent! / 100;
    let budgeting: Budgeting;
    if (d.spec.budgetingMethod === 'Occurrences') budgeting = { method: 'occurrences' };
    else {
      const sw = o.timeSliceWindow ? parseOpenSloDuration(o.timeSliceWindow) : undefined;
      const sliceMs = sw && unitMs(sw.unit) !== undefined ? unitMs(sw.unit)! * sw.count : undefined;
      if (sliceMs === undefined) {
        errors.push({
          path: [...at, 'timeSliceWindow'],
          message: `${d.spec.budgetingMethod} needs timeSliceWindow, a fixed length such as 1m or 5m`,
        });
        return;
      }
      if (d.spec.budgetingMethod === 'RatioTimeslices') budgeting = { method: 'ratio-timeslices', sliceMs };
      else {
        if (o.timeSliceTarget === undefined) {
          errors.push({
            path: [...at, 'timeSliceTarget'],
            message: 'Timeslices needs timeSliceTarget (0–1): the ratio a slice must reach to be good',
          });
          return;
        }
        budgeting = { method: 'timeslices', sliceMs, sliceTarget: o.timeSliceTarget };
      }
    }
    let objectiveSli = sli;
    if (sli.source === 'external' && 'threshold' in sli && sli.threshold) {
      if (o.op === undefined || o.value === undefined) {
        errors.push({ path: at, message: 'a thresholdMetric objective needs op (lt, lte, gt, gte) and value' });
        return;
      }
      objectiveSli = { ...sli, threshold: { ...sli.threshold, op: o.op, value: o.value } };
    }
    const suffix = d.spec.objectives.length > 1 ? slug(o.displayName ?? String(i + 1)) : '';
    const name = suffix ? `${d.metadata.name}-${suffix}`.slice(0, 64).replace(/-+$/, '') : d.metadata.name;
    slos.push({
      name,
      displayName: [d.metadata.displayName ?? d.metadata.name, d.spec.objectives.length > 1 ? o.displayName : undefined]
        .filter(Boolean)
        .join(': '),
      description: d.spec.description ?? '',
      service: d.spec.service,
      objective: objectiveRatio,
      window,
      budgeting: budgeting!,
      sli: objectiveSli,
      alerting: { strategy: 'sloth', minEvents: 5, page: true, ticket: true },
      exclusions: [],
      labels: {},
      format: 'openslo/v1',
    });
  });
  if (errors.length) return { ok: false, errors };
  return { ok: true, slos, warnings };
}

function toSli(spec: z.output<typeof indicatorSpec>, errors: PendingIssue[]): Sli | undefined {
  const at = ['spec', 'indicator', 'spec'];
  if ('thresholdMetric' in spec) {
    const src = spec.thresholdMetric.metricSource;
    if (isBulwark(src.type)) return bulwarkSli(src.spec, [...at, 'thresholdMetric', 'metricSource', 'spec'], errors);
    return { source: 'external', type: src.type, threshold: { op: 'lt', value: 0, query: queryOf(src.spec) } };
  }
  const rm = spec.ratioMetric;
  if (rm.good === undefined && rm.bad === undefined) {
    errors.push({ path: [...at, 'ratioMetric'], message: 'a ratioMetric needs good or bad, and total' });
    return undefined;
  }
  const src = (rm.good ?? rm.bad)!.metricSource;
  if (src.type.toLowerCase() === 'prometheus' && typeof src.spec.url === 'string')
    return prometheusRatio(rm, [...at, 'ratioMetric'], errors);
  if (isBulwark(src.type)) return bulwarkSli(src.spec, [...at, 'ratioMetric', rm.good ? 'good' : 'bad', 'metricSource', 'spec'], errors);
  return {
    source: 'external',
    type: src.type,
    ...(rm.good ? { good: queryOf(rm.good.metricSource.spec) } : {}),
    ...(rm.bad ? { bad: queryOf(rm.bad.metricSource.spec) } : {}),
    total: queryOf(rm.total.metricSource.spec),
  };
}

type RatioMetric = {
  good?: { metricSource: { type: string; spec: Record<string, unknown> } };
  bad?: { metricSource: { type: string; spec: Record<string, unknown> } };
  total: { metricSource: { type: string; spec: Record<string, unknown> } };
};

/**
 * A ratioMetric whose Prometheus metric source names its `url`: Bulwark queries that Prometheus
 * (`spec.query`, or `spec.promql`, per metric; `spec.allowHosts` and `spec.timeout` as in
 * Bulwark's format). The metrics share one URL.
 */
function prometheusRatio(rm: RatioMetric, at: (string | number)[], errors: PendingIssue[]): Sli | undefined {
  const which = rm.good ? 'good' : 'bad';
  const first = rm[which]!.metricSource.spec;
  const q = (m: { metricSource: { type: string; spec: Record<string, unknown> } }) =>
    m.metricSource.spec.query ?? m.metricSource.spec.promql;
  for (const k of [which, 'total'] as const) {
    const m = rm[k]!;
    if (
      m.metricSource.type.toLowerCase() !== 'prometheus' ||
      (m.metricSource.spec.url !== undefined && m.metricSource.spec.url !== first.url)
    ) {
      errors.push({
        path: [...at, k, 'metricSource'],
        message: `the ${which} and total metrics read the same Prometheus (type Prometheus, one url)`,
      });
      return undefined;
    }
  }
  const r = prometheusSliSchema.safeParse({
    url: first.url,
    [which]: q(rm[which]!),
    total: q(rm.total),
    ...(first.allowHosts !== undefined ? { allowHosts: first.allowHosts } : {}),
    ...(first.timeout !== undefined ? { timeout: first.timeout } : {}),
  });
  if (r.success) return toPrometheusSli(r.data);
  for (const i of r.error.issues) {
    const key = String(i.path[0] ?? 'url');
    const where =
      key === 'total'
        ? [...at, 'total', 'metricSource', 'spec', 'query']
        : key === which
          ? [...at, which, 'metricSource', 'spec', 'query']
          : [...at, which, 'metricSource', 'spec', ...i.path.map((p) => p as string | number)];
    errors.push({ path: where, message: i.message });
  }
  return undefined;
}

const isBulwark = (type: string) => type.toLowerCase() === 'bulwark';
const queryOf = (spec: Record<string, unknown>) => (typeof spec.query === 'string' ? spec.query : JSON.stringify(spec));
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30) || 'objective';

function bulwarkSli(spec: Record<string, unknown>, at: (string | number)[], errors: PendingIssue[]): Sli | undefined {
  if ('experiments' in spec) {
    const r = runSelectorSchema.safeParse(spec.experiments);
    if (r.success) return { source: 'experiments', select: pickSelector(r.data) };
    errors.push(...r.error.issues.map((i) => ({ path: [...at, 'experiments', ...(i.path as (string | number)[])], message: i.message })));
    return undefined;
  }
  if ('timeToDetect' in spec) {
    const r = timeToDetectSchema.safeParse(spec.timeToDetect);
    if (r.success) return { source: 'time-to-detect', select: pickSelector(r.data), thresholdMs: parsePromDuration(r.data.under)! };
    errors.push(...r.error.issues.map((i) => ({ path: [...at, 'timeToDetect', ...(i.path as (string | number)[])], message: i.message })));
    return undefined;
  }
  if ('signals' in spec) {
    const r = signalSliSchema.safeParse(spec.signals);
    if (r.success) return { source: 'signals', good: r.data.good, total: r.data.total };
    errors.push(...r.error.issues.map((i) => ({ path: [...at, 'signals', ...(i.path as (string | number)[])], message: i.message })));
    return undefined;
  }
  errors.push({ path: at, message: 'a Bulwark metric source names experiments, timeToDetect or signals (see docs/slos.md)' });
  return undefined;
}
