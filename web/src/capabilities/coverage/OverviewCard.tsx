import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadCoverage } from './data.ts';

/** Coverage on the Overview: the KRIs. */
export function CoverageOverview() {
  const api = useApi();
  const [coverage, reload] = useLoad('coverage', (signal) => loadCoverage(api, signal));
  const k = coverage.data?.kris;
  return (
    <Card title="ATT&CK coverage" testId="overview-coverage">
      <ErrorBanner error={coverage.error} title="Could not load the coverage" onRetry={reload} />
      {k ? (
        <>
          <p className="stat">
            <span className="stat-value" data-testid="coverage-exercised">
              {k.exercised}
            </span>{' '}
            <span className="stat-label">of {k.inScope} techniques in scope exercised</span>
          </p>
          <p>
            {k.blocked} blocked, {k.alerted} alerted, {k.logged} logged only, {k.none} none; <strong>{k.stale}</strong> stale,{' '}
            <strong>{k.neverExercised}</strong> never exercised
          </p>
        </>
      ) : coverage.status === 'loading' ? (
        <Spinner label="Loading…" />
      ) : null}
      <p>
        <Link to="/attack" className="button">
          Open the ATT&amp;CK matrix
        </Link>
      </p>
    </Card>
  );
}
