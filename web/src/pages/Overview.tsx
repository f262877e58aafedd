import { Card, ErrorBanner, Spinner } from '../components.tsx';
import { isInProgress, loadExperiments } from '../experimentsData.ts';
import { formatCount, formatTime, plural } from '../format.ts';
import { useApi, useLoad } from '../hooks.ts';
import { loadCheckpoint, loadEntries } from '../ledgerData.ts';
import { OutcomeBadge } from '../outcomes.tsx';
import { Link } from '../router.tsx';
import { OUTCOMES, type Experiment, type Outcome } from '../types.ts';
import { CheckpointView } from './CheckpointView.tsx';

export function Overview() {
  const api = useApi();
  const [latest, reloadLatest] = useLoad('latest', (signal) => loadEntries(api, null, signal, 1));
  const [checkpoint, reloadCheckpoint] = useLoad('checkpoint', (signal) => loadCheckpoint(api, signal));
  const [experiments, reloadExperiments] = useLoad('experiments', (signal) => loadExperiments(api, signal));

  const newest = latest.data?.entries[0];

  return (
    <>
      <h1>Overview</h1>
      <ErrorBanner error={latest.error} title="Could not load the ledger" onRetry={reloadLatest} />
      <ErrorBanner error={checkpoint.error} title="Could not load the checkpoint" onRetry={reloadCheckpoint} />
      <div className="grid">
        <Card title="Ledger" testId="overview-ledger">
          {latest.data ? (
            <>
              <p className="stat">
                <span className="stat-value" data-testid="ledger-size">
                  {formatCount(latest.data.size)}
                </span>{' '}
                <span className="stat-label">{latest.data.size === 1 ? 'entry' : 'entries'}</span>
              </p>
              {newest ? (
                <p className="muted">
                  Latest: <code>{newest.kind}</code> on <code>{newest.subject}</code> by {newest.actor},{' '}
                  <time dateTime={newest.time}>{formatTime(newest.time)}</time>
                </p>
              ) : (
                <p className="muted">Nothing recorded yet.</p>
              )}
            </>
          ) : latest.status === 'loading' ? (
            <Spinner label="Loading…" />
          ) : null}
          <p>
            <Link to="/ledger" className="button">
              Open the ledger
            </Link>
          </p>
        </Card>
        <Card title="Experiments" testId="overview-experiments">
          <ErrorBanner error={experiments.error} title="Could not load the experiments" onRetry={reloadExperiments} />
          {experiments.data ? (
            <ExperimentCounts experiments={experiments.data} />
          ) : experiments.status === 'loading' ? (
            <Spinner label="Loading…" />
          ) : null}
          <p>
            <Link to="/experiments" className="button">
              Open the experiments
            </Link>
          </p>
        </Card>
        <Card title="Latest checkpoint" testId="checkpoint">
          {checkpoint.status === 'ready' ? (
            <CheckpointView checkpoint={checkpoint.data} showNote={false} />
          ) : checkpoint.status === 'loading' ? (
            <Spinner label="Loading…" />
          ) : null}
        </Card>
      </div>
    </>
  );
}

function ExperimentCounts({ experiments }: { experiments: Experiment[] }) {
  const counts = new Map<Outcome, number>();
  let neverRun = 0;
  let running = 0;
  for (const e of experiments) {
    if (e.lastRun && isInProgress(e.lastRun.state)) running++;
    const outcome = e.lastRun?.outcome;
    if (outcome) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    else if (!e.lastRun) neverRun++;
  }
  return (
    <>
      <p className="stat">
        <span className="stat-value" data-testid="experiments-count">
          {formatCount(experiments.length)}
        </span>{' '}
        <span className="stat-label">{experiments.length === 1 ? 'experiment' : 'experiments'}</span>
      </p>
      {experiments.length === 0 ? (
        <p className="muted">
          None applied yet. Apply one with <code>bulwark experiments apply FILE</code>.
        </p>
      ) : (
        <>
          <p className="muted">By last outcome:</p>
          <ul className="outcome-counts" data-testid="experiment-outcome-counts">
            {OUTCOMES.filter((o) => counts.has(o)).map((outcome) => (
              <li key={outcome} data-outcome={outcome}>
                <OutcomeBadge outcome={outcome} /> <span className="count">{formatCount(counts.get(outcome) ?? 0)}</span>
              </li>
            ))}
            {running > 0 ? <li className="muted">{plural(running, 'run', 'runs')} in progress</li> : null}
            {neverRun > 0 ? <li className="muted">{formatCount(neverRun)} never run</li> : null}
          </ul>
        </>
      )}
    </>
  );
}
