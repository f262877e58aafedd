import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { loadReports, type ReportItem } from './data.ts';

/** An incident's status reports: draft one from a template, edit a draft, post it; each shown as it stands now. */
export function Reports({ id, onChange }: { id: number; onChange: () => void }) {
  const api = useApi();
  const [reports, reload] = useLoad(`incident-${id}-reports`, (signal) => loadReports(api, id, signal), { keepDataOnError: true });
  const [editing, setEditing] = useState<{ report: number; version: number; body: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      setEditing(null);
      reload();
      onChange();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const list: ReportItem[] = reports.data ?? [];
  return (
    <Card
      title="Status reports"
      testId="incident-reports"
      actions={
        <>
          {(['tactical', 'executive'] as const).map((kind) => (
            <button
              key={kind}
              type="button"
              className="button button-small"
              disabled={busy}
              onClick={() => void act(() => api.post(`/v1/incidents/${id}/reports`, { kind }))}
              data-testid={`report-draft-${kind}`}
            >
              Draft {kind}
            </button>
          ))}
        </>
      }
    >
      <ErrorBanner error={reports.error} title="Could not load the status reports" onRetry={reload} />
      {list.length === 0 ? <p className="muted">None yet.</p> : null}
      {list.map((r) => (
        <section key={r.report} data-testid="report" data-state={r.state}>
          <h3>
            Report {r.report}: {r.kind}, {r.state} (version {r.version}, {formatTime(r.at)} by {r.by})
            {r.nextUpdateAt ? ` · next update ${formatTime(r.nextUpdateAt)}` : ''}
          </h3>
          {editing?.report === r.report ? (
            <>
              <textarea
                value={editing.body}
                onChange={(e) => setEditing({ ...editing, body: e.target.value })}
                rows={10}
                cols={80}
                maxLength={20_000}
                data-testid="report-body"
              />
              <p>
                <button
                  type="button"
                  className="button button-small button-primary"
                  disabled={busy}
                  onClick={() =>
                    void act(() =>
                      api.post(`/v1/incidents/${id}/reports/${r.report}`, { body: editing.body, expectVersion: editing.version }),
                    )
                  }
                  data-testid="report-save"
                >
                  Save
                </button>{' '}
                <button type="button" className="button button-small" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </p>
            </>
          ) : (
            <pre className="report-body">{r.body}</pre>
          )}
          {r.state === 'draft' && editing?.report !== r.report ? (
            <p>
              <button
                type="button"
                className="button button-small"
                disabled={busy}
                onClick={() => setEditing({ report: r.report, version: r.version, body: r.body })}
                data-testid="report-edit"
              >
                Edit
              </button>{' '}
              <button
                type="button"
                className="button button-small button-primary"
                disabled={busy}
                onClick={() => void act(() => api.post(`/v1/incidents/${id}/reports/${r.report}/post`, { expectVersion: r.version }))}
                data-testid="report-post"
              >
                Post
              </button>
            </p>
          ) : null}
        </section>
      ))}
      {error ? <p className="error">{error}</p> : null}
    </Card>
  );
}
