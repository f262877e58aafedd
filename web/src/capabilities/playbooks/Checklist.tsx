import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { CompleteStep } from './CompleteStep.tsx';
import { loadChecklist, runHref } from './data.ts';

/** "My checklist": manual and assisted steps waiting for a person, mine first. */
export function Checklist() {
  const api = useApi();
  const [list, reload] = useLoad('playbook-checklist', (signal) => loadChecklist(api, signal), { keepDataOnError: true });
  const steps = list.data;
  return (
    <>
      <h1>My checklist</h1>
      <p className="muted">Steps of playbook runs waiting for a person: assigned to you or to nobody first.</p>
      <ErrorBanner error={list.error} title="Could not load the checklist" onRetry={reload} />
      {!steps ? (
        list.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : steps.length === 0 ? (
        <Card title="Nothing waiting">
          <p className="muted">No step waits for a person.</p>
        </Card>
      ) : (
        <ul className="checklist" data-testid="playbook-checklist">
          {steps.map((s) => (
            <li key={`${s.run}/${s.id}`} data-testid="checklist-item" data-step={s.id}>
              <strong>{s.title}</strong> <span className="muted">({s.mode})</span> in <Link to={runHref(s.run)}>{s.playbook}</Link>
              {s.assignee ? <span className="muted"> · for {s.assignee}</span> : null}
              {s.instructions ? <p>{s.instructions}</p> : null}
              {s.items ? (
                <ul>
                  {s.items.map((i) => (
                    <li key={i}>☐ {i}</li>
                  ))}
                </ul>
              ) : null}
              <CompleteStep run={s.run} step={s.id} mode={s.mode} onDone={reload} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
