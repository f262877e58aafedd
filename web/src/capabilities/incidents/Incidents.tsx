import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadCases, loadIncidents } from './data.ts';
import { Outbox } from './Outbox.tsx';

/** Incidents (those the viewer may see) and the cases triage opened, newest first; the webhook outbox. */
export function Incidents() {
  const api = useApi();
  const [list, reload] = useLoad('incidents', (signal) => loadIncidents(api, signal), { keepDataOnError: true });
  const [cases, reloadCases] = useLoad('cases', (signal) => loadCases(api, signal), { keepDataOnError: true });
  return (
    <>
      <h1>Incidents</h1>
      <p className="muted">
        Declare one with <code>bulwark incidents declare TITLE --severity SEV2</code>, or escalate a case with{' '}
        <code>bulwark cases escalate ID</code>.
      </p>
      <ErrorBanner error={list.error} title="Could not load the incidents" onRetry={reload} />
      {list.data === undefined ? (
        list.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : list.data.incidents.length === 0 ? (
        <Card title="No incidents">
          <p className="muted">None declared.</p>
        </Card>
      ) : (
        <div className="table-wrap">
          <table className="entries incidents" data-testid="incidents">
            <thead>
              <tr>
                <th scope="col">Incident</th>
                <th scope="col">Severity</th>
                <th scope="col">Status</th>
                <th scope="col">Declared</th>
              </tr>
            </thead>
            <tbody>
              {list.data.incidents.map((i) => (
                <tr key={i.id} data-testid="incident-row" data-id={i.id}>
                  <td>
                    <Link to={`/incidents/${i.id}`}>
                      INC-{i.id} {i.title}
                    </Link>
                    {i.restricted ? <span className="muted"> (restricted)</span> : null}
                  </td>
                  <td>
                    {i.severity} · {i.priority}
                  </td>
                  <td>{i.status}</td>
                  <td>{formatTime(i.declaredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Cases</h2>
      <ErrorBanner error={cases.error} title="Could not load the cases" onRetry={reloadCases} />
      {cases.data === undefined ? (
        cases.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : cases.data.length === 0 ? (
        <p className="muted">No cases: triage opens them from signals, burn alerts and missed runs.</p>
      ) : (
        <div className="table-wrap">
          <table className="entries cases" data-testid="cases">
            <thead>
              <tr>
                <th scope="col">Case</th>
                <th scope="col">State</th>
                <th scope="col">Severity</th>
                <th scope="col">Items</th>
                <th scope="col">Opened</th>
              </tr>
            </thead>
            <tbody>
              {cases.data.map((c) => (
                <tr key={c.id} data-testid="case-row" data-id={c.id}>
                  <td>
                    CASE-{c.id} {c.title}
                    {c.incidentId ? (
                      <>
                        {' → '}
                        <Link to={`/incidents/${c.incidentId}`}>INC-{c.incidentId}</Link>
                      </>
                    ) : null}
                  </td>
                  <td>
                    {c.state}
                    {c.resolution ? ` (${c.resolution})` : ''}
                  </td>
                  <td>{c.severity}</td>
                  <td>{c.items}</td>
                  <td>{formatTime(c.openedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Outbox />
    </>
  );
}
