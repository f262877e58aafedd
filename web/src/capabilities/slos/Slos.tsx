import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatCount, formatMs } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import type { Slo } from '../../types.ts';
import { loadKpis, loadKris, loadSlos, percent, type Kpi } from './data.ts';

/** The SLOs, lowest remaining budget first: what to fix before shipping more. */
export function Slos() {
  const api = useApi();
  const [list, reload] = useLoad('slos', (signal) => loadSlos(api, signal), { keepDataOnError: true });
  const slos = list.data;
  return (
    <>
      <h1>SLOs</h1>
      <p className="muted">
        Security objectives with error budgets, fed by the experiments' outcomes. Lowest remaining budget first. Apply one with{' '}
        <code>bulwark slo apply FILE</code>.
      </p>
      <ErrorBanner error={list.error} title="Could not load the SLOs" onRetry={reload} />
      {slos === undefined ? (
        list.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : slos.length === 0 ? (
        <Card title="No SLOs yet">
          <p className="muted">None applied.</p>
        </Card>
      ) : (
        <div className="table-wrap">
          <table className="entries slos" data-testid="slos">
            <thead>
              <tr>
                <th scope="col">SLO</th>
                <th scope="col">Objective</th>
                <th scope="col">SLI</th>
                <th scope="col">Budget left</th>
                <th scope="col">Alerts</th>
                <th scope="col">Policy</th>
              </tr>
            </thead>
            <tbody>
              {slos.map((s) => (
                <SloRow key={s.name} slo={s} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Kris />
      <Kpis />
    </>
  );
}

/** The KRI board: each count now, coloured by its thresholds. */
function Kris() {
  const api = useApi();
  const [report, reload] = useLoad('kris', (signal) => loadKris(api, signal), { keepDataOnError: true });
  return (
    <>
      <h2>KRIs</h2>
      <ErrorBanner error={report.error} title="Could not load the KRIs" onRetry={reload} />
      {report.data ? (
        <div className="table-wrap">
          <table className="entries kris" data-testid="kris">
            <thead>
              <tr>
                <th scope="col">KRI</th>
                <th scope="col">Now</th>
                <th scope="col">Colour</th>
                <th scope="col">Thresholds</th>
              </tr>
            </thead>
            <tbody>
              {report.data.kris.map((k) => (
                <tr key={k.kri} data-testid="kri-row" data-kri={k.kri} data-colour={k.colour}>
                  <td>
                    <strong>{k.title}</strong>
                    <div className="muted">{k.items.length > 0 ? k.items.join(', ') : k.description}</div>
                  </td>
                  <td data-testid="kri-value">{k.value === null ? '—' : formatCount(k.value)}</td>
                  <td title={k.why}>{k.colour === 'green' || k.colour === 'unknown' ? k.colour : <strong>{k.colour}</strong>}</td>
                  <td className="muted">
                    amber ≥ {k.amber}, red ≥ {k.red}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : report.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
    </>
  );
}

/** The KPIs over the last 30 days, each named with the two instants it measures between. */
function Kpis() {
  const api = useApi();
  const [report, reload] = useLoad('kpis', (signal) => loadKpis(api, '30d', signal), { keepDataOnError: true });
  return (
    <>
      <h2>KPIs, last 30 days</h2>
      <ErrorBanner error={report.error} title="Could not load the KPIs" onRetry={reload} />
      {report.data ? (
        <div className="table-wrap">
          <table className="entries kpis" data-testid="kpis">
            <thead>
              <tr>
                <th scope="col">KPI</th>
                <th scope="col">Mean</th>
                <th scope="col">p50</th>
                <th scope="col">p90</th>
                <th scope="col">Pairs</th>
              </tr>
            </thead>
            <tbody>
              {report.data.kpis.map((k) => (
                <KpiRow key={`${k.kpi}/${k.group ?? ''}`} kpi={k} />
              ))}
            </tbody>
          </table>
        </div>
      ) : report.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
    </>
  );
}

function KpiRow({ kpi }: { kpi: Kpi }) {
  const ms = (v: number | null) => (v === null ? '—' : formatMs(v));
  return (
    <tr data-testid="kpi-row" data-kpi={kpi.kpi}>
      <td>
        <strong>{kpi.title}</strong>
        <div className="muted">
          {kpi.from} → {kpi.to}
        </div>
      </td>
      {kpi.status === 'ok' ? (
        <>
          <td data-testid="kpi-mean">{ms(kpi.meanMs)}</td>
          <td data-testid="kpi-p50">{ms(kpi.p50Ms)}</td>
          <td data-testid="kpi-p90">{ms(kpi.p90Ms)}</td>
        </>
      ) : (
        <td colSpan={3} className="muted" data-testid="kpi-no-data">
          no data{kpi.why ? `: ${kpi.why}` : ''}
        </td>
      )}
      <td>
        {formatCount(kpi.count)}
        {kpi.incomplete > 0 ? <div className="muted">{formatCount(kpi.incomplete)} incomplete left out</div> : null}
        {kpi.refused > 0 ? <div className="muted">{formatCount(kpi.refused)} refused (negative)</div> : null}
      </td>
    </tr>
  );
}

function SloRow({ slo }: { slo: Slo }) {
  const st = slo.status;
  const firing = st?.alerts.filter((a) => a.firing).map((a) => a.severity) ?? [];
  return (
    <tr data-testid="slo-row" data-slo={slo.name}>
      <td>
        <Link to={`/slos/${slo.name}`}>
          <strong>{slo.displayName || slo.name}</strong>
        </Link>
        <div className="muted">
          {slo.name} · {slo.service} · {slo.window} · {slo.strategy}
        </div>
      </td>
      <td>{percent(slo.objective)}</td>
      <td data-testid="slo-sli">
        {st ? (
          <>
            {percent(st.sli)}
            <div className="muted">
              {formatCount(st.good)} good of {formatCount(st.total)}
            </div>
          </>
        ) : (
          <span className="muted">{slo.note ?? 'not read by Bulwark'}</span>
        )}
      </td>
      <td data-testid="slo-remaining">
        {st ? (
          <>
            {percent(st.remaining)}
            <div className="muted">
              {st.timeToExhaustionMs !== null && st.remaining > 0
                ? `empty in ${formatMs(st.timeToExhaustionMs)}`
                : st.remaining <= 0
                  ? 'spent'
                  : 'not burning'}
            </div>
          </>
        ) : (
          '—'
        )}
      </td>
      <td data-testid="slo-alerts">
        {firing.length > 0 ? <strong>{firing.join(', ')}</strong> : <span className="muted">none</span>}
        {st?.exclusion ? (
          <div className="muted" data-testid="slo-exclusion">
            excluded: {st.exclusion.name} until {new Date(st.exclusion.until).toLocaleString()}
          </div>
        ) : null}
      </td>
      <td data-testid="slo-policy">
        {slo.policy ? (
          <span title={slo.policy.why}>{slo.policy.state === 'freeze' ? <strong>freeze</strong> : 'ok'}</span>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
    </tr>
  );
}
