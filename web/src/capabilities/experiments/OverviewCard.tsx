import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatCount, plural } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { OUTCOMES, type Experiment, type Outcome } from '../../types.ts';
import { isInProgress, loadExperiments } from './data.ts';
import { OutcomeBadge } from './outcomes.tsx';

/** The experiments on the Overview: how many, by last outcome. */
export function ExperimentsOverview() {
  const api = useApi();
  const [experiments, reloadExperiments] = useLoad('experiments', (signal) => loadExperiments(api, signal));
  return (
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
