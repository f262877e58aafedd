import { Card, ErrorBanner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadOutbox } from './data.ts';

/** The webhook outbox: each notification with its state, attempts, next attempt and last error (restricted incidents the viewer may not see are left out by the server). */
export function Outbox() {
  const api = useApi();
  const [outbox, reload] = useLoad('incident-outbox', (signal) => loadOutbox(api, signal), { keepDataOnError: true });
  const list = outbox.data ?? [];
  return (
    <Card title="Webhook outbox" testId="incident-outbox">
      <ErrorBanner error={outbox.error} title="Could not load the outbox" onRetry={reload} />
      {list.length === 0 ? (
        <p className="muted">No notifications sent or waiting (webhooks are set in the incidents settings file).</p>
      ) : (
        <div className="table-wrap">
          <table className="entries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Webhook</th>
                <th scope="col">Event</th>
                <th scope="col">Incident</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next attempt / delivered</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {list.map((n) => (
                <tr key={n.id} data-testid="outbox-row" data-state={n.state}>
                  <td>{formatTime(n.createdAt)}</td>
                  <td>{n.webhook}</td>
                  <td>{n.event}</td>
                  <td>
                    <Link to={`/incidents/${n.incidentId}`}>INC-{n.incidentId}</Link>
                  </td>
                  <td>{n.state}</td>
                  <td>{n.attempts}</td>
                  <td>{n.deliveredAt ? formatTime(n.deliveredAt) : n.state === 'pending' ? formatTime(n.nextAttemptAt) : '—'}</td>
                  <td>{n.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
