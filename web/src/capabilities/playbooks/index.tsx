import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import type { DashboardPart } from '../../dashboard-part.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { Checklist } from './Checklist.tsx';
import { loadChecklist } from './data.ts';
import { Playbooks } from './Playbooks.tsx';
import { PlaybookRun } from './Run.tsx';

function PlaybooksOverview() {
  const api = useApi();
  const [list, reload] = useLoad('playbooks-overview', (signal) => loadChecklist(api, signal));
  return (
    <Card title="Playbooks" testId="overview-playbooks">
      <ErrorBanner error={list.error} title="Could not load the checklist" onRetry={reload} />
      {list.data ? (
        <p className="stat">
          <span className="stat-value">{list.data.length}</span> <span className="stat-label">steps waiting for a person</span>
        </p>
      ) : list.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
      <p>
        <Link to="/playbooks/checklist" className="button">
          My checklist
        </Link>{' '}
        <Link to="/playbooks" className="button">
          Playbooks
        </Link>
      </p>
    </Card>
  );
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export const dashboard: DashboardPart = {
  order: 50,
  sections: [
    {
      path: '/playbooks',
      label: 'Playbooks',
      summary:
        'Response steps that run as a manual checklist, assisted or automatically, triggered by signals; toil counted and steps done by hand promoted to automation.',
    },
  ],
  page(path) {
    if (path === '/playbooks') return { section: '/playbooks', title: 'Playbooks', element: <Playbooks /> };
    if (path === '/playbooks/checklist') return { section: '/playbooks', title: 'My checklist', element: <Checklist /> };
    const m = /^\/playbooks\/runs\/([^/]+)$/.exec(path);
    const id = m?.[1] === undefined ? null : decode(m[1]);
    if (id) return { section: '/playbooks', title: `Playbook run ${id}`, element: <PlaybookRun key={id} id={id} /> };
    return undefined;
  },
  overview: () => <PlaybooksOverview />,
};
