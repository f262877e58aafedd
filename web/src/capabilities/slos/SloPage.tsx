/** One SLO: its status now, and charts of its budget remaining, burn rates and alerts over its period. */
import { useMemo } from 'react';
import type { z } from 'zod';
import type { SeriesView } from '../../../../src/server/routes/slos-series.ts';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatCount } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import type { Slo } from '../../types.ts';
import { Chart, type ChartLine } from './Chart.tsx';
import { percent } from './data.ts';

type Series = z.output<typeof SeriesView>;

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#7f7f7f', '#bcbd22', '#d62728'];
const asPercent = (v: number) => `${(Math.round(v * 1000) / 10).toString()}%`;
const asRate = (v: number) => (Math.round(v * 100) / 100).toString();
const ALERT_RANGE: [number, number] = [0, 2];
const ALERT_TICKS = [0, 1, 2];
const asAlert = (v: number) => (v >= 2 ? 'page' : v >= 1 ? 'ticket' : 'none');

export function SloPage({ name }: { name: string }) {
  const api = useApi();
  const path = `/v1/slos/${encodeURIComponent(name)}`;
  const [slo, reloadSlo] = useLoad(`slo:${name}`, (signal) => api.get<Slo>(path, signal), { keepDataOnError: true });
  const [series, reloadSeries] = useLoad(`slo-series:${name}`, (signal) => api.get<Series>(`${path}/series?points=120`, signal), {
    keepDataOnError: true,
  });
  const s = slo.data;
  const st = s?.status;
  return (
    <>
      <p>
        <Link to="/slos">← SLOs</Link>
      </p>
      <h1>{s ? s.displayName || s.name : name}</h1>
      <ErrorBanner error={slo.error} title="Could not load the SLO" onRetry={reloadSlo} />
      {s ? (
        <Card title="Now" testId="slo-now">
          <p className="muted">
            {s.name} · {s.service} · objective {percent(s.objective)} over {s.window} · {s.sli} · {s.strategy}
          </p>
          {st ? (
            <p>
              SLI <strong data-testid="slo-page-sli">{percent(st.sli)}</strong> ({formatCount(st.good)} good of {formatCount(st.total)}) ·
              budget left <strong data-testid="slo-page-remaining">{percent(st.remaining)}</strong> · alerts{' '}
              {st.alerts.filter((a) => a.firing).length > 0 ? (
                <strong>
                  {st.alerts
                    .filter((a) => a.firing)
                    .map((a) => a.severity)
                    .join(', ')}
                </strong>
              ) : (
                'none'
              )}
            </p>
          ) : (
            <p className="muted" data-testid="slo-page-note">
              {s.state === 'unknown' ? 'Unknown: ' : ''}
              {s.note ?? 'not read by Bulwark'}
            </p>
          )}
          {s.policy ? (
            <p data-testid="slo-page-policy">
              Policy <strong>{s.policy.state}</strong>: {s.policy.why}
              {s.policy.postmortem ? <span className="muted"> · postmortems: {s.policy.postmortem.why}</span> : null}
            </p>
          ) : null}
        </Card>
      ) : slo.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
      <ErrorBanner error={series.error} title="Could not load the SLO's series" onRetry={reloadSeries} />
      {series.data ? <SeriesCharts series={series.data} /> : series.status === 'loading' ? <Spinner label="Loading the charts…" /> : null}
    </>
  );
}

function SeriesCharts({ series }: { series: Series }) {
  const charts = useMemo(() => {
    const times = series.points.map((p) => Date.parse(p.at) / 1000);
    const remaining: ChartLine[] = [{ label: 'budget left', values: series.points.map((p) => p.remaining), colour: COLOURS[0]! }];
    const windows = series.points[0] ? Object.keys(series.points[0].burnRates) : [];
    const burn: ChartLine[] = windows.map((w, i) => ({
      label: w,
      values: series.points.map((p) => p.burnRates[w] ?? null),
      colour: COLOURS[i % COLOURS.length]!,
    }));
    const alerts: ChartLine[] = [
      {
        label: 'firing',
        values: series.points.map((p) => (p.firing.includes('page') ? 2 : p.firing.includes('ticket') ? 1 : 0)),
        colour: COLOURS[8]!,
        steps: true,
      },
    ];
    return { times, remaining, burn, alerts };
  }, [series]);
  if (series.points.length === 0) {
    return (
      <Card title="Over time">
        <p className="muted">{series.note ?? 'No points.'}</p>
      </Card>
    );
  }
  return (
    <Card title={`Over time, ${new Date(series.from).toLocaleString()} to ${new Date(series.to).toLocaleString()}`} testId="slo-charts">
      <Chart title="Error budget left" times={charts.times} lines={charts.remaining} unit={asPercent} testId="chart-budget" />
      <Chart
        title="Burn rate per window (1 spends the budget exactly over the period)"
        times={charts.times}
        lines={charts.burn}
        unit={asRate}
        testId="chart-burn"
      />
      <Chart
        title="Burn-rate alerts firing"
        times={charts.times}
        lines={charts.alerts}
        unit={asAlert}
        testId="chart-alerts"
        yRange={ALERT_RANGE}
        ticks={ALERT_TICKS}
      />
    </Card>
  );
}
