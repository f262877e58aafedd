import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadPlaybooks, minutes, runHref, type Playbook } from './data.ts';

/** Playbooks with their steps' modes, recent runs, the toil report, and promotions to approve. */
export function Playbooks() {
  const api = useApi();
  const [data, reload] = useLoad('playbooks', (signal) => loadPlaybooks(api, signal), { keepDataOnError: true });
  const [error, setError] = useState<string | null>(null);
  const act = async (path: string, body?: unknown) => {
    setError(null);
    try {
      await api.post(path, body);
      reload();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  const d = data.data;
  return (
    <>
      <h1>Playbooks</h1>
      <p className="muted">
        One step format that runs as a manual checklist, assisted or automatically. Steps done by hand are counted; after enough of them
        Bulwark proposes automating the step, and a second person approves. <Link to="/playbooks/checklist">My checklist</Link>
      </p>
      <ErrorBanner error={data.error} title="Could not load the playbooks" onRetry={reload} />
      {error ? <p className="error">{error}</p> : null}
      {!d ? (
        data.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : (
        <>
          {d.playbooks.length === 0 ? (
            <Card title="No playbooks yet">
              <p className="muted">
                Apply one with <code>bulwark playbooks apply FILE</code>.
              </p>
            </Card>
          ) : (
            <div className="table-wrap">
              <table className="entries" data-testid="playbooks">
                <thead>
                  <tr>
                    <th scope="col">Playbook</th>
                    <th scope="col">Trigger</th>
                    <th scope="col">Steps</th>
                    <th scope="col"></th>
                  </tr>
                </thead>
                <tbody>
                  {d.playbooks.map((p) => (
                    <PlaybookRow
                      key={p.name}
                      p={p}
                      onRun={() => void act(`/v1/playbooks/${encodeURIComponent(p.name)}/runs`, { inputs: {} })}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Recent runs</h2>
          {d.runs.length === 0 ? (
            <p className="muted">No runs yet.</p>
          ) : (
            <ul data-testid="playbook-runs">
              {d.runs.map((r) => (
                <li key={r.id}>
                  <Link to={runHref(r.id)}>{r.id}</Link> — {r.playbook} v{r.version}, <strong>{r.state}</strong>, {formatTime(r.createdAt)}
                  {r.trigger ? <span className="muted"> (signal {r.trigger})</span> : null}
                </li>
              ))}
            </ul>
          )}
          <h2>Toil</h2>
          <p className="muted">
            Work done by hand: {d.toil.totals.executions} executions, {minutes(d.toil.totals.timeSpentMs)}.
          </p>
          {d.toil.rows.length > 0 ? (
            <table className="entries" data-testid="playbook-toil">
              <thead>
                <tr>
                  <th scope="col">Playbook</th>
                  <th scope="col">Step</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Done</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {d.toil.rows.map((r) => (
                  <tr key={`${r.playbook}/${r.stepId}/${r.mode}`}>
                    <td>{r.playbook}</td>
                    <td>{r.stepId}</td>
                    <td>{r.mode}</td>
                    <td>{r.done}</td>
                    <td>{r.failed}</td>
                    <td>{minutes(r.timeSpentMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {d.toil.proposals.map((p) => (
            <p key={`${p.playbook}/${p.step}`} data-testid="playbook-proposal">
              Automate <strong>{p.playbook}</strong> / {p.step}: done by hand {p.manualDone} times.{' '}
              {p.pending ? (
                <span className="muted">Promotion {p.pending} waits for a second person.</span>
              ) : (
                <button
                  type="button"
                  className="button button-small"
                  onClick={() => void act(`/v1/playbooks/${encodeURIComponent(p.playbook)}/steps/${encodeURIComponent(p.step)}/promotions`)}
                >
                  Propose automating it
                </button>
              )}
            </p>
          ))}
          <h2>Promotions</h2>
          {d.promotions.length === 0 ? (
            <p className="muted">None asked.</p>
          ) : (
            <ul data-testid="playbook-promotions">
              {d.promotions.map((p) => (
                <li key={p.id}>
                  {p.playbook} / {p.step} to auto, asked by {p.requestedBy}: <strong>{p.state}</strong>
                  {p.state === 'pending' ? (
                    <>
                      {' '}
                      <button
                        type="button"
                        className="button button-small button-primary"
                        onClick={() => void act(`/v1/playbook-promotions/${p.id}/approve`)}
                      >
                        Approve
                      </button>{' '}
                      <button
                        type="button"
                        className="button button-small"
                        onClick={() => void act(`/v1/playbook-promotions/${p.id}/reject`)}
                      >
                        Reject
                      </button>
                    </>
                  ) : p.decidedBy ? (
                    <span className="muted">
                      {' '}
                      by {p.decidedBy}
                      {p.newVersion ? `, version ${p.newVersion}` : ''}
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}

function PlaybookRow({ p, onRun }: { p: Playbook; onRun: () => void }) {
  const takesInputs = Object.values(p.inputs).some((i) => i.required);
  return (
    <tr data-testid="playbook-row" data-playbook={p.name}>
      <td>
        <strong>{p.title}</strong>
        <div className="muted">
          {p.name} · version {p.version}
          {p.owner ? ` · ${p.owner}` : ''}
        </div>
      </td>
      <td>{p.trigger.signal ? <code>{p.trigger.signal}</code> : 'manual'}</td>
      <td>
        {p.steps.map((s) => (
          <div key={s.id}>
            {s.guarded ? '↳ ' : ''}
            {s.title}{' '}
            <span className="muted">
              ({s.kind}, {s.mode})
            </span>
          </div>
        ))}
      </td>
      <td>
        {p.trigger.manual && !takesInputs ? (
          <button type="button" className="button button-small" onClick={onRun}>
            Run
          </button>
        ) : (
          <span className="muted">{takesInputs ? 'run with inputs from the CLI or API' : 'trigger only'}</span>
        )}
      </td>
    </tr>
  );
}
