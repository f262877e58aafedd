import { Card, Spinner } from '../../components.tsx';
import type { DashboardPart } from '../../dashboard-part.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { Access } from './Access.tsx';
import { ApprovalRules } from './ApprovalRules.tsx';
import { Secrets } from './Secrets.tsx';
import { SecurityKeys } from './SecurityKeys.tsx';
import { loadPendingApprovals, loadUnreviewedBreakglass } from './data.ts';

/** What waits on people: approvals to decide, breakglass to review. */
function AccessOverview() {
  const api = useApi();
  const [approvals] = useLoad('overview-approvals', (signal) => loadPendingApprovals(api, signal));
  const [breakglass] = useLoad('overview-breakglass', (signal) => loadUnreviewedBreakglass(api, signal));
  return (
    <Card title="Access" testId="overview-access">
      {approvals.data && breakglass.data ? (
        <p className="stat">
          <span className="stat-value">{approvals.data.length}</span> <span className="stat-label">approvals waiting</span>
          {' · '}
          <span className="stat-value">{breakglass.data.length}</span> <span className="stat-label">breakglass to review</span>
        </p>
      ) : approvals.error || breakglass.error ? (
        <p className="muted">Approvals and breakglass need approvals:read and breakglass:read.</p>
      ) : (
        <Spinner label="Loading…" />
      )}
      <p>
        <Link to="/access" className="button">
          Open Access
        </Link>
      </p>
    </Card>
  );
}

export const dashboard: DashboardPart = {
  order: 80,
  sections: [
    {
      path: '/access',
      label: 'Access',
      summary: 'People and service accounts, approvals waiting and breakglass to review.',
    },
  ],
  page: (path) => {
    if (path === '/access') return { section: '/access', title: 'Access', element: <Access /> };
    if (path === '/access/secrets') return { section: '/access', title: 'Sealed secrets', element: <Secrets /> };
    if (path === '/access/approval-rules') return { section: '/access', title: 'Approval rules', element: <ApprovalRules /> };
    if (path === '/access/security-keys') return { section: '/access', title: 'Security keys', element: <SecurityKeys /> };
    return undefined;
  },
  overview: () => <AccessOverview />,
};
