import type { DashboardPart } from '../../dashboard-part.ts';
import { Ledger } from './Ledger.tsx';
import { LedgerOverview } from './OverviewCards.tsx';

export const dashboard: DashboardPart = {
  order: 90,
  sections: [
    {
      path: '/ledger',
      label: 'Ledger',
      summary: 'The append-only, tamper-evident record of everything Bulwark does and sees, with signed checkpoints.',
    },
  ],
  page: (path, query) => (path === '/ledger' ? { section: '/ledger', title: 'Ledger', element: <Ledger query={query} /> } : undefined),
  overview: () => <LedgerOverview />,
};
