import type { DashboardPart } from '../../dashboard-part.ts';
import { Attack } from './Attack.tsx';
import { CoverageOverview } from './OverviewCard.tsx';
import { Technique } from './Technique.tsx';

export const dashboard: DashboardPart = {
  order: 15,
  sections: [
    {
      path: '/attack',
      label: 'ATT&CK',
      summary:
        'The ATT&CK coverage map backed by the runs: which techniques are blocked, alerted or missed, and which evidence has gone stale.',
    },
  ],
  page(path) {
    if (path === '/attack') return { section: '/attack', title: 'ATT&CK coverage', element: <Attack /> };
    const m = /^\/attack\/(T\d{4}(?:\.\d{3})?)$/.exec(path);
    if (m) return { section: '/attack', title: `Technique ${m[1]!}`, element: <Technique key={m[1]} id={m[1]!} /> };
    return undefined;
  },
  overview: () => <CoverageOverview />,
};
