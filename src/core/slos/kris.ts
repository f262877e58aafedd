/**
 * KRIs: key risk indicators, each a count from Bulwark's own records with an amber and a red
 * threshold (green below amber). A count that cannot be taken (what it needs is not there) is
 * "unknown", never green. Pure: the values come in.
 */

export const KRI_DEFINITIONS = {
  'missed-detections-30d': {
    title: 'Missed detections in the last 30 days',
    description: 'Experiment runs that ended missed (nothing detected the attack) in the last 30 days.',
    amber: 1,
    red: 5,
  },
  'techniques-not-exercised-30d': {
    title: 'ATT&CK techniques in scope not exercised in 30 days',
    description: 'Techniques in the coverage scope without a counted run that ended in the last 30 days.',
    amber: 1,
    red: 10,
  },
  'controls-regressed': {
    title: 'Experiments whose last run regressed',
    description:
      'Applied experiments whose last counted run failed (missed, detected late, errored, rollback failed) though an earlier one passed (prevented or detected): the control worked and no longer does.',
    amber: 1,
    red: 3,
  },
  'slos-low-budget': {
    title: 'SLOs with less than 10% of their budget left',
    description: 'SLOs with enough events whose remaining error budget is under 10%.',
    amber: 1,
    red: 3,
  },
  'slos-freezing': {
    title: 'SLOs whose budget policy freezes deploys',
    description: 'SLOs whose error budget policy is in the freeze state: deploys that are not security fixes wait.',
    amber: 1,
    red: 2,
  },
  'postmortems-missing': {
    title: 'Incidents missing a postmortem their SLO requires',
    description:
      "Incidents in the budget period of an SLO whose budget is at or under its policy's postmortemBelow, without a generated postmortem.",
    amber: 1,
    red: 3,
  },
  'toil-due-for-automation': {
    title: 'Playbook steps done by hand that are due for automation',
    description:
      "Playbook steps, manual or assisted, done by hand at least their playbook's automateAfter times and still not automatic: toil to automate (the playbooks' toil report).",
    amber: 1,
    red: 5,
  },
} as const;

export type KriName = keyof typeof KRI_DEFINITIONS;
export const KRI_NAMES = Object.keys(KRI_DEFINITIONS) as KriName[];
export type KriColour = 'green' | 'amber' | 'red' | 'unknown';
export const KRI_COLOURS = ['green', 'amber', 'red', 'unknown'] as const;

export interface KriResult {
  kri: KriName;
  title: string;
  description: string;
  /** null when it could not be counted. */
  value: number | null;
  amber: number;
  red: number;
  colour: KriColour;
  why: string;
  /** What the count is made of (names of SLOs, techniques, experiments), at most 20. */
  items: string[];
}

export interface KriInput {
  value: number | null;
  items?: readonly string[];
  /** Why there is no value. */
  unknownBecause?: string;
}

/** The colour of one KRI: red at or above `red`, amber at or above `amber`, else green. */
export function evaluateKri(kri: KriName, input: KriInput): KriResult {
  const d = KRI_DEFINITIONS[kri];
  const items = [...(input.items ?? [])].sort().slice(0, 20);
  const base = { kri, title: d.title, description: d.description, amber: d.amber, red: d.red, items };
  if (input.value === null || !Number.isFinite(input.value)) {
    return { ...base, value: null, colour: 'unknown', why: input.unknownBecause ?? 'could not be counted' };
  }
  const v = input.value;
  const colour: KriColour = v >= d.red ? 'red' : v >= d.amber ? 'amber' : 'green';
  const why =
    colour === 'red'
      ? `${v} is at or above red (${d.red})`
      : colour === 'amber'
        ? `${v} is at or above amber (${d.amber})`
        : `${v} is under amber (${d.amber})`;
  return { ...base, value: v, colour, why };
}
