export interface Section {
  path: string;
  label: string;
  /** One sentence on what the part does; shown while the part is not built. */
  summary: string;
  built: boolean;
}

export const sections: readonly Section[] = [
  {
    path: '/',
    label: 'Overview',
    summary: 'The state of the ledger, the experiments and, later, every other part at a glance.',
    built: true,
  },
  {
    path: '/experiments',
    label: 'Experiments',
    summary:
      'Security chaos experiments: inject faults or attack techniques against a control and record whether it was prevented, detected, detected late or missed, with the time to detect.',
    built: true,
  },
  {
    path: '/slos',
    label: 'SLOs',
    summary: 'Security SLOs with error budgets and multiwindow burn-rate alerts, and KPIs such as time to detect, acknowledge and recover.',
    built: false,
  },
  {
    path: '/incidents',
    label: 'Incidents',
    summary:
      'Triage of signals into cases and incidents, with command roles, a timeline, evidence and blameless postmortems generated from the record.',
    built: false,
  },
  {
    path: '/playbooks',
    label: 'Playbooks',
    summary:
      'Response steps that run as a manual checklist, assisted or automatically, triggered by signals, burn alerts and failed experiments.',
    built: false,
  },
  {
    path: '/operations',
    label: 'Operations',
    summary:
      'The single audited path to production: parameterised operations, each with a policy, multi-party approval, breakglass and rate limits.',
    built: false,
  },
  {
    path: '/deploys',
    label: 'Deploys',
    summary:
      'A deploy gate that admits only builds with signed provenance, protects against rollback and freezes deploys when the error budget is spent.',
    built: false,
  },
  {
    path: '/ledger',
    label: 'Ledger',
    summary: 'The append-only, tamper-evident record of everything Bulwark does and sees, with signed checkpoints.',
    built: true,
  },
];

export function findSection(path: string): Section | undefined {
  return sections.find((s) => s.path === path);
}

/** What a path shows: a section's page, one run (under Experiments), or nothing. */
export type Route =
  { kind: 'section'; section: Section } | { kind: 'run'; section: Section | undefined; runId: string } | { kind: 'not-found' };

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function matchRoute(path: string): Route {
  const section = findSection(path);
  if (section) return { kind: 'section', section };
  const run = /^\/runs\/([^/]+)$/.exec(path);
  const runId = run?.[1] === undefined ? null : decodeSegment(run[1]);
  if (runId) return { kind: 'run', section: findSection('/experiments'), runId };
  return { kind: 'not-found' };
}
