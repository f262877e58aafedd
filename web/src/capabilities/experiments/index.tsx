import type { DashboardPart } from '../../dashboard-part.ts';
import { Experiments } from './Experiments.tsx';
import { ExperimentsOverview } from './OverviewCard.tsx';
import { Run } from './Run.tsx';

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export const dashboard: DashboardPart = {
  order: 10,
  sections: [
    {
      path: '/experiments',
      label: 'Experiments',
      summary:
        'Security chaos experiments: inject faults or attack techniques against a control and record whether it was prevented, detected, detected late or missed, with the time to detect.',
    },
  ],
  page(path) {
    if (path === '/experiments') return { section: '/experiments', title: 'Experiments', element: <Experiments /> };
    // A run's page sits under Experiments in the navigation.
    const run = /^\/runs\/([^/]+)$/.exec(path);
    const runId = run?.[1] === undefined ? null : decodeSegment(run[1]);
    if (runId) return { section: '/experiments', title: `Run ${runId}`, element: <Run key={runId} id={runId} /> };
    return undefined;
  },
  overview: () => <ExperimentsOverview />,
};
