import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import type { DashboardPart } from '../../dashboard-part.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadSlos, percent } from './data.ts';
import { SloPage } from './SloPage.tsx';
import { Slos } from './Slos.tsx';

function SlosOverview() {
  const api = useApi();
  const [list, reload] = useLoad('slos-overview', (signal) => loadSlos(api, signal));
  const lowest = list.data?.[0];
  const frozen = list.data?.filter((s) => s.policy?.state === 'freeze').length ?? 0;
  return (
    <Card title="SLOs" testId="overview-slos">
      <ErrorBanner error={list.error} title="Could not load the SLOs" onRetry={reload} />
      {list.data ? (
        list.data.length === 0 ? (
          <p className="muted">None applied yet.</p>
        ) : (
          <>
            <p className="stat">
              <span className="stat-value">{list.data.length}</span> <span className="stat-label">SLOs</span>
            </p>
            {lowest?.status ? (
              <p className="muted">
                Lowest budget: {lowest.displayName || lowest.name}, {percent(lowest.status.remaining)} left
                {frozen > 0 ? `; ${frozen} freezing deploys` : ''}.
              </p>
            ) : null}
          </>
        )
      ) : list.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
      <p>
        <Link to="/slos" className="button">
          Open the SLOs
        </Link>
      </p>
    </Card>
  );
}

export const dashboard: DashboardPart = {
  order: 30,
  sections: [
    {
      path: '/slos',
      label: 'SLOs',
      summary: 'Security SLOs with error budgets and multiwindow burn-rate alerts, fed by the experiments.',
    },
  ],
  page(path) {
    if (path === '/slos') return { section: '/slos', title: 'SLOs', element: <Slos /> };
    // One SLO's page, with its charts, sits under SLOs in the navigation.
    const m = /^\/slos\/([a-z0-9-]{1,64})$/.exec(path);
    if (m) return { section: '/slos', title: `SLO ${m[1]!}`, element: <SloPage key={m[1]} name={m[1]!} /> };
    return undefined;
  },
  overview: () => <SlosOverview />,
};
