import { formatDuration, formatTime } from '../../format.ts';
import { runHref } from './data.ts';
import { Link } from '../../router.tsx';
import { OUTCOMES, type Outcome, type RunState, type RunSummary } from '../../types.ts';

// Every outcome has a colour, a glyph and a word: colour alone never carries the meaning.

interface OutcomeInfo {
  label: string;
  glyph: string;
  /** What the outcome means, for the legend and tooltips. */
  meaning: string;
}

export const OUTCOME_INFO: Readonly<Record<Outcome, OutcomeInfo>> = {
  prevented: { label: 'prevented', glyph: '✓', meaning: 'blocked as expected, and every detection met its deadline' },
  detected: { label: 'detected', glyph: '◉', meaning: 'not blocked, but detected within its deadline' },
  'detected-late': { label: 'detected late', glyph: '◔', meaning: 'detected, but after its deadline' },
  missed: { label: 'missed', glyph: '✗', meaning: 'not detected (or not blocked where no detection was asked)' },
  'not-run': { label: 'not run', glyph: '⊘', meaning: 'the steady-state gate failed, so nothing was injected' },
  aborted: { label: 'aborted', glyph: '■', meaning: 'a safety condition tripped or someone stopped the run' },
  errored: { label: 'errored', glyph: '!', meaning: 'the run could not complete' },
  'rollback-failed': { label: 'rollback failed', glyph: '⚠', meaning: 'a rollback failed: the system may not be restored' },
};

const STATE_LABEL: Readonly<Record<RunState, string>> = {
  pending: 'pending',
  running: 'running',
  'rolling-back': 'rolling back',
  done: 'done',
};

/** The word for where a run stands: its outcome once done, its state before. */
export function runStatusLabel(run: RunSummary): string {
  if (run.outcome) return OUTCOME_INFO[run.outcome].label;
  return isFinishedDryRun(run) ? 'dry run' : STATE_LABEL[run.state];
}

export function OutcomeBadge({ outcome, title }: { outcome: Outcome; title?: string }) {
  const info = OUTCOME_INFO[outcome];
  return (
    <span className={`badge outcome-${outcome}`} data-testid="outcome-badge" data-outcome={outcome} title={title ?? info.meaning}>
      <span className="badge-glyph" aria-hidden="true">
        {info.glyph}
      </span>
      {info.label}
    </span>
  );
}

/** A finished dry run has no outcome: nothing was sent, so nothing was tested. */
function isFinishedDryRun(run: RunSummary): boolean {
  return run.state === 'done' && run.outcome === null && run.dryRun;
}

/** A run's outcome, or its state while it has none yet (pending, running, rolling back). */
export function RunBadge({ run }: { run: RunSummary }) {
  if (run.outcome) return <OutcomeBadge outcome={run.outcome} title={run.reason ?? OUTCOME_INFO[run.outcome].meaning} />;
  const dry = isFinishedDryRun(run);
  return (
    <span
      className={`badge badge-state state-${run.state}${dry ? ' badge-dry-run' : ''}`}
      data-testid="outcome-badge"
      data-outcome=""
      data-state={run.state}
      title={run.reason ?? (dry ? 'a dry run checks the plan and sends nothing' : undefined)}
    >
      <span className="badge-glyph" aria-hidden="true">
        {run.state === 'done' ? '○' : '…'}
      </span>
      {runStatusLabel(run)}
    </span>
  );
}

export function OutcomeLegend() {
  return (
    <div className="legend" data-testid="outcome-legend">
      <h2 className="legend-title">Outcomes</h2>
      <ul>
        {OUTCOMES.map((outcome) => (
          <li key={outcome}>
            <OutcomeBadge outcome={outcome} /> <span className="muted">{OUTCOME_INFO[outcome].meaning}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function describeRun(run: RunSummary): string {
  const parts = [`Run ${run.id}: ${runStatusLabel(run)}`, `started ${formatTime(run.startedAt)}`];
  if (run.ttdMs !== null) parts.push(`time to detect ${formatDuration(run.ttdMs)}`);
  if (run.dryRun) parts.push('dry run');
  return parts.join(', ');
}

/**
 * The last runs as small squares, oldest on the left, newest on the right; each links to its
 * run. `history` comes newest first, as the API sends it.
 */
export function HistoryStrip({ history, experiment }: { history: RunSummary[]; experiment: string }) {
  if (history.length === 0) return <span className="muted">No runs yet</span>;
  const runs = [...history].reverse();
  return (
    <ol className="history" aria-label={`Last ${runs.length} runs of ${experiment}, oldest first`} data-testid="history-strip">
      {runs.map((run) => {
        const key = run.outcome ?? (run.state === 'done' ? 'none' : 'in-progress');
        const glyph = run.outcome ? OUTCOME_INFO[run.outcome].glyph : run.state === 'done' ? '○' : '…';
        const label = describeRun(run);
        return (
          <li key={run.id}>
            <Link
              to={runHref(run.id)}
              className={`history-cell outcome-${key}${run.dryRun ? ' is-dry-run' : ''}`}
              aria-label={label}
              title={label}
              data-testid="history-run"
              data-outcome={run.outcome ?? ''}
            >
              <span aria-hidden="true">{glyph}</span>
            </Link>
          </li>
        );
      })}
    </ol>
  );
}

/** ATT&CK ids as links to MITRE's pages: T1110.001 is /techniques/T1110/001/. */
export function TechniqueList({ techniques }: { techniques: string[] }) {
  if (techniques.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="techniques">
      {techniques.map((id) => {
        const valid = /^T\d{4}(\.\d{3})?$/.test(id);
        return (
          <li key={id}>
            {valid ? (
              <a
                className="technique"
                href={`https://attack.mitre.org/techniques/${id.replace('.', '/')}/`}
                target="_blank"
                rel="noreferrer noopener"
                title={`MITRE ATT&CK technique ${id} (opens in a new tab)`}
              >
                {id}
              </a>
            ) : (
              <code className="technique">{id}</code>
            )}
          </li>
        );
      })}
    </ul>
  );
}
