import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatCount, formatTime, actorText } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { CheckpointView } from './CheckpointView.tsx';
import { loadCheckpoint, loadEntries } from './data.ts';

/** The ledger on the Overview: its size and newest entry, and the latest checkpoint. */
export function LedgerOverview() {
  const api = useApi();
  const [latest, reloadLatest] = useLoad('latest', (signal) => loadEntries(api, null, signal, 1));
  const [checkpoint, reloadCheckpoint] = useLoad('checkpoint', (signal) => loadCheckpoint(api, signal));
  const newest = latest.data?.entries[0];
  return (
    <>
      <ErrorBanner error={latest.error} title="Could not load the ledger" onRetry={reloadLatest} />
      <ErrorBanner error={checkpoint.error} title="Could not load the checkpoint" onRetry={reloadCheckpoint} />
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
                Latest: <code>{newest.kind}</code> on <code>{newest.subject}</code> by {actorText(newest.actor)},{' '}
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
      <Card title="Latest checkpoint" testId="checkpoint">
        {checkpoint.status === 'ready' ? (
          <CheckpointView checkpoint={checkpoint.data} showNote={false} />
        ) : checkpoint.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null}
      </Card>
    </>
  );
}
