/**
 * Prometheus recording and alert rules for SLOs, the same as Sloth's (github.com/slok/sloth,
 * `sloth generate`) for the same spec: SLI error ratios per window, the period's ratio from the
 * 5m one, the meta recordings (objective, budget, period, current and period burn rates, budget
 * remaining, info), and a page and a ticket alert from the multiwindow pairs. Input: Sloth's
 * `prometheus/v1` spec. Pure: returns the rule groups; the CLI prints them as YAML.
 */
import { z } from 'zod';
import { slothWindows, type WindowsSpec } from './alert-windows.ts';
import { formatPromDuration } from './duration.ts';

const labels = z.record(z.string(), z.string()).default({});
const alertMeta = z
  .object({ disable: z.boolean().default(false), labels, annotations: labels })
  .partial()
  .default({});

export const slothSpecSchema = z.strictObject({
  version: z.literal('prometheus/v1'),
  service: z.string().min(1),
  labels,
  slos: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        objective: z.number().gt(0).lte(100),
        description: z.string().optional(),
        labels,
        sli: z.strictObject({
          events: z.strictObject({ error_query: z.string().min(1), total_query: z.string().min(1) }).optional(),
          raw: z.strictObject({ error_ratio_query: z.string().min(1) }).optional(),
        }),
        alerting: z
          .strictObject({
            name: z.string().optional(),
            labels,
            annotations: labels,
            page_alert: alertMeta,
            ticket_alert: alertMeta,
          })
          .partial()
          .default({}),
      }),
    )
    .min(1),
});

export type SlothSpec = z.output<typeof slothSpecSchema>;

export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}
export interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: (RecordingRule | AlertRule)[];
}

/**
 * A float64 as Go's `%v` prints it (what Sloth's templates do): the shortest text that reads
 * back as the same number, in exponent form below 1e-4 or from 1e21 up, with two exponent digits.
 */
export function goFloat(n: number): string {
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp >= -4 && exp < 21) return String(n);
  const [mant, e] = n.toExponential().split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  const digits = e.replace(/^[-+]/, '').padStart(2, '0');
  return `${mant}e${sign}${digits}`;
}

const sortLabels = (l: Record<string, string>) => Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const filterOf = (ids: Record<string, string>) =>
  `{${Object.entries(sortLabels(ids))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;

export interface RulesOptions {
  periodMs: number;
  windows?: WindowsSpec;
  /** Printed in sloth_slo_info's sloth_version. */
  version: string;
  /** sloth_mode of the info rule; Sloth's CLI writes cli-gen-prom. */
  mode?: string;
}

export function slothRules(spec: SlothSpec, opts: RulesOptions): RuleGroup[] {
  const pairs = slothWindows(opts.periodMs, opts.windows?.pairs);
  const windows = [...new Set(pairs.flatMap((p) => [p.shortMs, p.longMs]))].sort((a, b) => a - b);
  const period = formatPromDuration(opts.periodMs);
  const groups: RuleGroup[] = [];
  for (const slo of spec.slos) {
    const id = `${spec.service}-${slo.name}`;
    const ids = { sloth_id: id, sloth_service: spec.service, sloth_slo: slo.name };
    const filter = filterOf(ids);
    const base = sortLabels({ ...spec.labels, ...slo.labels, ...ids });
    const sliExpr = (w: string): string => {
      if (slo.sli.raw) return `(${slo.sli.raw.error_ratio_query.replaceAll('{{.window}}', w)})`;
      const ev = slo.sli.events;
      if (!ev) throw new Error(`SLO ${slo.name}: sli needs events or raw`);
      return `(${ev.error_query.replaceAll('{{.window}}', w)})\n/\n(${ev.total_query.replaceAll('{{.window}}', w)})\n`;
    };
    const sliRules: RecordingRule[] = windows.map((ms) => {
      const w = formatPromDuration(ms);
      return { record: `slo:sli_error:ratio_rate${w}`, expr: sliExpr(w), labels: sortLabels({ ...base, sloth_window: w }) };
    });
    sliRules.push({
      record: `slo:sli_error:ratio_rate${period}`,
      expr: `sum_over_time(slo:sli_error:ratio_rate5m${filter}[${period}])\n/ ignoring (sloth_window)\ncount_over_time(slo:sli_error:ratio_rate5m${filter}[${period}])\n`,
      labels: sortLabels({ ...base, sloth_window: period }),
    });
    groups.push({ name: `sloth-slo-sli-recordings-${id}`, rules: sliRules });

    const objectiveRatio = slo.objective / 100;
    const budgetRatio = (100 - slo.objective) / 100;
    const on = 'on(sloth_id, sloth_slo, sloth_service) group_left';
    groups.push({
      name: `sloth-slo-meta-recordings-${id}`,
      rules: [
        { record: 'slo:objective:ratio', expr: `vector(${goFloat(objectiveRatio)})`, labels: base },
        { record: 'slo:error_budget:ratio', expr: `vector(1-${goFloat(objectiveRatio)})`, labels: base },
        { record: 'slo:time_period:days', expr: `vector(${goFloat(opts.periodMs / 86_400_000)})`, labels: base },
        {
          record: 'slo:current_burn_rate:ratio',
          expr: `slo:sli_error:ratio_rate5m${filter}\n/ ${on}\nslo:error_budget:ratio${filter}\n`,
          labels: base,
        },
        {
          record: 'slo:period_burn_rate:ratio',
          expr: `slo:sli_error:ratio_rate${period}${filter}\n/ ${on}\nslo:error_budget:ratio${filter}\n`,
          labels: base,
        },
        { record: 'slo:period_error_budget_remaining:ratio', expr: `1 - slo:period_burn_rate:ratio${filter}`, labels: base },
        {
          record: 'sloth_slo_info',
          expr: 'vector(1)',
          labels: sortLabels({
            ...base,
            sloth_mode: opts.mode ?? 'cli-gen-prom',
            sloth_objective: goFloat(slo.objective),
            sloth_spec: 'prometheus/v1',
            sloth_version: opts.version,
          }),
        },
      ],
    });

    const alerting = slo.alerting;
    const alerts: AlertRule[] = [];
    for (const severity of ['page', 'ticket'] as const) {
      const meta = severity === 'page' ? alerting.page_alert : alerting.ticket_alert;
      if (meta?.disable) continue;
      const [quick, slow] = pairs.filter((p) => p.severity === severity) as [(typeof pairs)[0], (typeof pairs)[0]];
      const cond = (ms: number, factor: number) =>
        `max(slo:sli_error:ratio_rate${formatPromDuration(ms)}${filter} > (${goFloat(factor)} * ${goFloat(budgetRatio)})) without (sloth_window)`;
      const expr =
        `(\n    ${cond(quick.shortMs, quick.factor)}\n    and\n    ${cond(quick.longMs, quick.factor)}\n)\nor\n` +
        `(\n    ${cond(slow.shortMs, slow.factor)}\n    and\n    ${cond(slow.longMs, slow.factor)}\n)\n`;
      alerts.push({
        alert: alerting.name ?? '',
        expr,
        labels: sortLabels({ ...alerting.labels, ...meta?.labels, sloth_severity: severity }),
        annotations: sortLabels({
          ...alerting.annotations,
          ...meta?.annotations,
          summary: '{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.',
          title: `(${severity}) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.`,
        }),
      });
    }
    if (alerts.length > 0) groups.push({ name: `sloth-slo-alerts-${id}`, rules: alerts });
  }
  return groups;
}
