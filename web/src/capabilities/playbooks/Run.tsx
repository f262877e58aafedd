import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { ErrorBanner, Spinner } from '../../components.tsx';
import { compactJson, formatTime } from '../../format.ts';
import { useApi, useLoad, useRefreshWhile } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { CompleteStep } from './CompleteStep.tsx';
import { minutes, type PlaybookRunDetail } from './data.ts';

/** One run: its steps with state, attempts, outputs and who did them; the waiting step's form. */
export function PlaybookRun({ id }: { id: string }) {
  const api = useApi();
  const [run, reload] = useLoad(
    `playbook-run-${id}`,
    (signal) => api.get<PlaybookRunDetail>(`/v1/playbook-runs/${encodeURIComponent(id)}`, signal),
    {
      keepDataOnError: true,
    },
  );
  const r = run.data;
  useRefreshWhile(r?.state === 'running', 1000, run, reload);
  const [error, setError] = useState<string | null>(null);
  const control = async (verb: string) => {
    setError(null);
    try {
      await api.post(`/v1/playbook-runs/${encodeURIComponent(id)}/${verb}`);
      reload();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <>
      <h1>Playbook run {id}</h1>
      <ErrorBanner error={run.error} title="Could not load the run" onRetry={reload} />
      {error ? <p className="error">{error}</p> : null}
      {!r ? (
        run.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : (
        <>
          <p data-testid="playbook-run-state">
            {r.playbook} version {r.version}: <strong>{r.state}</strong>, started {formatTime(r.createdAt)} by {r.startedBy}
            {r.reason ? <span className="muted"> — {r.reason}</span> : null}
          </p>
          <p>
            {r.state === 'running' || r.state === 'waiting' ? (
              <button type="button" className="button button-small" onClick={() => void control('pause')}>
                Pause
              </button>
            ) : null}
            {r.state === 'paused' ? (
              <button type="button" className="button button-small" onClick={() => void control('resume')}>
                Resume
              </button>
            ) : null}{' '}
            {['running', 'waiting', 'paused'].includes(r.state) ? (
              <button type="button" className="button button-small button-danger" onClick={() => void control('cancel')}>
                Cancel
              </button>
            ) : null}
          </p>
          <ol className="playbook-steps" data-testid="playbook-steps">
            {r.steps.map((s) => (
              <li key={s.id} data-testid="playbook-step" data-step={s.id} data-state={s.state}>
                <strong>{s.title}</strong>{' '}
                <span className="muted">
                  {s.kind}, {s.mode}
                </span>{' '}
                — <strong>{s.state}</strong>
                {s.attempts > 1 ? ` after ${s.attempts} attempts` : ''}
                {s.doneBy ? ` by ${s.doneBy}` : ''}
                {s.timeSpentMs !== null ? `, ${minutes(s.timeSpentMs)}` : ''}
                {s.error ? <div className="error">{s.error}</div> : null}
                {s.kind === 'approval' && s.state === 'running' ? <WaitingApproval outputs={s.outputs} /> : null}
                {s.kind === 'wait' && s.state === 'running' ? (
                  <div className="muted" data-testid="playbook-step-wait">
                    Waiting{s.startedAt ? ` since ${formatTime(s.startedAt)}` : ''}: for its duration, or for a signal it matches until its
                    timeout.
                  </div>
                ) : null}
                {s.notes ? <div className="muted">Notes: {s.notes}</div> : null}
                {s.outputs !== null && s.state === 'done' ? <div className="muted">Outputs: {compactJson(s.outputs)}</div> : null}
                {s.state === 'waiting' ? (
                  <div>
                    {s.instructions ? <p>{s.instructions}</p> : null}
                    {s.items ? (
                      <ul>
                        {s.items.map((i) => (
                          <li key={i}>☐ {i}</li>
                        ))}
                      </ul>
                    ) : null}
                    <CompleteStep run={r.id} step={s.id} mode={s.mode} onDone={reload} />
                  </div>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}

/** An approval step under way: the request it waits for, what is missing, and where to decide. */
function WaitingApproval({ outputs }: { outputs: unknown }) {
  const o = (outputs ?? {}) as { approval?: string; expiresAt?: string; missing?: string[] };
  if (!o.approval) return <div className="muted">Asking for approval…</div>;
  return (
    <div data-testid="playbook-step-approval" data-approval={o.approval}>
      Waiting for approval <code>{o.approval}</code>
      {o.missing && o.missing.length > 0 ? `: ${o.missing.join('; ')}` : ''}
      {o.expiresAt ? <span className="muted"> (expires {formatTime(o.expiresAt)})</span> : null}. Approvers decide on the{' '}
      <Link to="/access">Access page</Link> or with <code>bulwark approvals approve {o.approval}</code>.
    </div>
  );
}
