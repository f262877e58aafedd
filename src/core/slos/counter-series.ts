/**
 * An SLO's SLI events as Prometheus counters, and the Sloth spec whose rules read them: how the
 * same SLO is evaluated by Bulwark and by a Prometheus over the same data.
 *
 * `bulwark_slo_events_total{slo, service, kind="bad"|"total"}` counts the SLO's events
 * cumulatively (exclusion windows are not applied: these are the raw events); a sample at instant t holds
 * every event at or before t. The rules are Sloth's for an `events` SLI over them:
 * `sum(rate(…{kind="bad"}[w])) / sum(rate(…{kind="total"}[w]))`. With a sample at both ends of a
 * window, Prometheus's rate needs no extrapolation, so its ratio is the window's bad ÷ total: what
 * Bulwark's burn rate over (now − w, now] counts (occurrences budgeting, no exclusions). Pure.
 */
import type { SlothSpec } from './sloth-rules.ts';
import type { Slo, SliEvent } from './types.ts';

export const SLI_COUNTER = 'bulwark_slo_events';

const label = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

/** The Sloth prometheus/v1 spec of an SLO over its SLI counters. */
export function counterSpec(slo: Pick<Slo, 'name' | 'service' | 'objective' | 'description'>): SlothSpec {
  const sel = (kind: string) => `sum(rate(${SLI_COUNTER}_total{slo="${label(slo.name)}",kind="${kind}"}[{{.window}}]))`;
  return {
    version: 'prometheus/v1',
    service: slo.service,
    labels: {},
    slos: [
      {
        name: slo.name,
        // Sloth's objective is a percentage.
        objective: slo.objective * 100,
        ...(slo.description ? { description: slo.description } : {}),
        labels: {},
        sli: { events: { error_query: sel('bad'), total_query: sel('total') } },
        alerting: {
          name: `${slo.name}-burn`,
          labels: {},
          annotations: {},
          page_alert: { disable: false, labels: {}, annotations: {} },
          ticket_alert: { disable: false, labels: {}, annotations: {} },
        },
      },
    ],
  };
}

/**
 * The counters as OpenMetrics samples at each instant (sorted, epoch ms), for
 * `promtool tsdb create-blocks-from openmetrics`; without a final newline nor `# EOF`, so other families can follow.
 */
export function counterSamples(slo: Pick<Slo, 'name' | 'service'>, events: readonly SliEvent[], instants: readonly number[]): string {
  const sorted = events.filter((e) => e.total > 0 && Number.isFinite(e.at)).sort((a, b) => a.at - b.at);
  const ids = `slo="${label(slo.name)}",service="${label(slo.service)}"`;
  const bad: string[] = [];
  const total: string[] = [];
  let i = 0;
  let b = 0;
  let t = 0;
  for (const at of instants) {
    while (i < sorted.length && sorted[i]!.at <= at) {
      const e = sorted[i++]!;
      b += e.total - Math.min(Math.max(e.good, 0), e.total);
      t += e.total;
    }
    bad.push(`${SLI_COUNTER}_total{${ids},kind="bad"} ${b} ${at / 1000}`);
    total.push(`${SLI_COUNTER}_total{${ids},kind="total"} ${t} ${at / 1000}`);
  }
  return [`# HELP ${SLI_COUNTER} An SLO's SLI events, bad and total.`, `# TYPE ${SLI_COUNTER} counter`, ...bad, ...total].join('\n');
}
