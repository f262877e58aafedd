import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { loadChecklists, loadTasks, type TaskItem } from './data.ts';

/** An incident's tasks: add one, mark one done (or reopen it), add a recovery checklist from a template. */
export function Tasks({ id, onChange }: { id: number; onChange: () => void }) {
  const api = useApi();
  const [tasks, reload] = useLoad(`incident-${id}-tasks`, (signal) => loadTasks(api, id, signal), { keepDataOnError: true });
  const [templates] = useLoad('incident-checklists', (signal) => loadChecklists(api, signal));
  const [title, setTitle] = useState('');
  const [owner, setOwner] = useState('');
  const [due, setDue] = useState('');
  const [template, setTemplate] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const send = async (path: string, body: object) => {
    setBusy(true);
    setError(null);
    try {
      await api.post(path, body);
      reload();
      onChange();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async () => {
    const dueAt = due ? new Date(due).toISOString() : undefined;
    if (
      await send(`/v1/incidents/${id}/tasks`, {
        title: title.trim(),
        ...(owner.trim() ? { owner: owner.trim() } : {}),
        ...(dueAt ? { dueAt } : {}),
      })
    ) {
      setTitle('');
      setOwner('');
      setDue('');
    }
  };
  const list: TaskItem[] = tasks.data ?? [];
  const open = list.filter((t) => t.status === 'open').length;
  return (
    <Card title={`Tasks (${open} open)`} testId="incident-tasks">
      <ErrorBanner error={tasks.error} title="Could not load the tasks" onRetry={reload} />
      {list.length === 0 ? (
        <p className="muted">No tasks yet.</p>
      ) : (
        <ul className="tasks">
          {list.map((t) => (
            <li key={t.id} data-testid="task" data-status={t.status}>
              <label>
                <input
                  type="checkbox"
                  checked={t.status === 'done'}
                  disabled={busy || t.status === 'cancelled'}
                  onChange={() => void send(`/v1/incidents/${id}/tasks/${t.id}`, { status: t.status === 'done' ? 'open' : 'done' })}
                  data-testid="task-done"
                />{' '}
                {t.status === 'cancelled' ? <s>{t.title}</s> : t.title}
              </label>
              <span className="muted">
                {' '}
                · {t.owner ?? 'no owner'}
                {t.dueAt ? ` · due ${formatTime(t.dueAt)}` : ''}
                {t.checklist ? ` · ${t.checklist}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
        data-testid="task-add"
      >
        <label>
          Task <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} required data-testid="task-title" />
        </label>{' '}
        <label>
          Owner <input value={owner} onChange={(e) => setOwner(e.target.value)} maxLength={200} size={12} data-testid="task-owner" />
        </label>{' '}
        <label>
          Due <input type="datetime-local" value={due} onChange={(e) => setDue(e.target.value)} data-testid="task-due" />
        </label>{' '}
        <button type="submit" className="button button-small button-primary" disabled={busy || title.trim() === ''}>
          Add task
        </button>
      </form>
      <p>
        <label>
          Recovery checklist{' '}
          <select value={template} onChange={(e) => setTemplate(e.target.value)} data-testid="checklist-template">
            <option value="">choose…</option>
            {(templates.data ?? []).map((c) => (
              <option key={c.name} value={c.name}>
                {c.title} ({c.items.length} tasks)
              </option>
            ))}
          </select>
        </label>{' '}
        <button
          type="button"
          className="button button-small"
          disabled={busy || template === ''}
          onClick={() => void send(`/v1/incidents/${id}/checklists`, { template }).then((ok) => ok && setTemplate(''))}
          data-testid="checklist-add"
        >
          Add checklist
        </button>
      </p>
      {error ? <p className="error">{error}</p> : null}
    </Card>
  );
}
