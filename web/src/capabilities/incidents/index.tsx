import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import type { DashboardPart } from '../../dashboard-part.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadCases, loadIncidents } from './data.ts';
import { Incident } from './Incident.tsx';
import { Incidents } from './Incidents.tsx';

function IncidentsOverview() {
  const api = useApi();
  const [list, reload] = useLoad('incidents-overview', (signal) => loadIncidents(api, signal));
  const [cases] = useLoad('cases-overview', (signal) => loadCases(api, signal));
  const active = list.data?.incidents.filter((i) => i.status === 'active' || i.status === 'mitigated').length ?? 0;
  const open = cases.data?.filter((c) => c.state === 'new' || c.state === 'triage').length ?? 0;
  return (
    <Card title="Incidents" testId="overview-incidents">
      <ErrorBanner error={list.error} title="Could not load the incidents" onRetry={reload} />
      {list.data ? (
        <p className="stat">
          <span className="stat-value">{active}</span> <span className="stat-label">open incidents</span>
          {cases.data ? <span className="muted"> · {open} cases to triage</span> : null}
        </p>
      ) : list.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
      <p>
        <Link to="/incidents" className="button">
          Open the incidents
        </Link>
      </p>
    </Card>
  );
}

export const dashboard: DashboardPart = {
  order: 40,
  sections: [
    {
      path: '/incidents',
      label: 'Incidents',
      summary:
        'Triage of signals into cases and incidents, with command roles, a timeline, evidence and blameless postmortems generated from the record.',
    },
  ],
  page(path) {
    if (path === '/incidents') return { section: '/incidents', title: 'Incidents', element: <Incidents /> };
    const m = /^\/incidents\/([1-9]\d{0,9})$/.exec(path);
    if (m) return { section: '/incidents', title: `Incident ${m[1]!}`, element: <Incident key={m[1]} id={Number(m[1])} /> };
    return undefined;
  },
  overview: () => <IncidentsOverview />,
};
