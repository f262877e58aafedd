import { Card, ErrorBanner, Hex, Spinner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { describeEvent, loadIncident, ROLE_TITLES } from './data.ts';
import { Links } from './Links.tsx';
import { Postmortem } from './Postmortem.tsx';
import { Reports } from './Reports.tsx';
import { Tasks } from './Tasks.tsx';

/** One incident: its command roles as intervals, the budget it spent and the experiments covering it, its tasks, its status reports, its evidence, and its timeline (its ledger entries). */
export function Incident({ id }: { id: number }) {
  const api = useApi();
  const [detail, reload] = useLoad(`incident-${id}`, (signal) => loadIncident(api, id, signal), { keepDataOnError: true });
  const d = detail.data;
  return (
    <>
      <p>
        <Link to="/incidents">← Incidents</Link>
      </p>
      <ErrorBanner error={detail.error} title={`Could not load incident ${id}`} onRetry={reload} />
      {d === undefined ? (
        detail.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : (
        <>
          <h1 data-testid="incident-title">
            INC-{d.incident.id} {d.incident.title}
          </h1>
          <p className="muted" data-testid="incident-summary">
            {d.incident.severity} · {d.incident.priority} · {d.incident.status}
            {d.incident.restricted ? ' · restricted' : ''} · declared {formatTime(d.incident.declaredAt)}
            {d.incident.impactStartedAt ? ` · impact from ${formatTime(d.incident.impactStartedAt)}` : ''}
          </p>
          <Card title="Command roles" testId="incident-roles">
            {d.roles.length === 0 ? (
              <p className="muted">None assigned.</p>
            ) : (
              <ul>
                {d.roles.map((r) => (
                  <li key={`${r.role}-${r.from}`} data-testid="role">
                    <strong>{ROLE_TITLES[r.role] ?? r.role}</strong>: {r.holder}, {formatTime(r.from)} – {r.to ? formatTime(r.to) : 'now'}
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <Links id={id} onChange={reload} />
          <Tasks id={id} onChange={reload} />
          <Reports id={id} onChange={reload} />
          <Postmortem id={id} onChange={reload} />
          <Card title="Evidence" testId="incident-evidence">
            {d.evidence.length === 0 ? (
              <p className="muted">None collected.</p>
            ) : (
              <ul>
                {d.evidence.map((e) => (
                  <li key={e.sha256} data-testid="evidence">
                    <strong>{e.name}</strong> ({e.size} bytes, from {e.origin}, by {e.collectedBy} at {formatTime(e.collectedAt)}){' '}
                    <Hex value={e.sha256} />
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <h2>Timeline</h2>
          <div className="table-wrap">
            <table className="entries timeline" data-testid="incident-timeline">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Entry</th>
                  <th scope="col">What</th>
                  <th scope="col">Who</th>
                </tr>
              </thead>
              <tbody>
                {d.timeline.map((e) => (
                  <tr key={e.seq} data-testid="timeline-row" data-kind={e.kind}>
                    <td>{formatTime(e.time)}</td>
                    <td>
                      <Link to={`/ledger?from=${e.seq}`}>#{e.seq}</Link>
                    </td>
                    <td>{describeEvent(e.kind, e.data)}</td>
                    <td>{e.actor}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
