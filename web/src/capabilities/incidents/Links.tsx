import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { loadLinks } from './data.ts';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** What the incident is linked to: the budget it spent of each SLO over its impact window, and the experiments that cover its techniques. */
export function Links({ id, onChange }: { id: number; onChange: () => void }) {
  const api = useApi();
  const [links, reload] = useLoad(`incident-${id}-links`, (signal) => loadLinks(api, id, signal), { keepDataOnError: true });
  const [slo, setSlo] = useState('');
  const [technique, setTechnique] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`/v1/incidents/${id}/links`, {
        ...(slo.trim() ? { slos: [slo.trim()] } : {}),
        ...(technique.trim() ? { techniques: [technique.trim()] } : {}),
      });
      setSlo('');
      setTechnique('');
      reload();
      onChange();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const l = links.data;
  return (
    <Card title="Budget and coverage" testId="incident-links">
      <ErrorBanner error={links.error} title="Could not load the links" onRetry={reload} />
      {l ? (
        <>
          <p className="muted">
            Impact window {formatTime(l.window.from)} – {formatTime(l.window.to)}
            {l.window.ongoing ? ' (ongoing)' : ''}
          </p>
          {l.slos.length === 0 ? (
            <p className="muted">No SLO linked.</p>
          ) : (
            <ul>
              {l.slos.map((s) => (
                <li key={s.slo} data-testid="link-slo" data-state={s.state}>
                  <strong>{s.slo}</strong>:{' '}
                  {s.state === 'evaluated' && s.consumed !== null
                    ? `${pct(s.consumed)} of its error budget spent (${s.bad} bad of ${s.events} events)`
                    : `not computed (${s.note ?? s.state})`}
                </li>
              ))}
            </ul>
          )}
          <p>Techniques: {l.techniques.length ? l.techniques.join(', ') : 'none noted'}</p>
          {l.experiments.length > 0 ? (
            <ul>
              {l.experiments.map((e) => (
                <li key={e.experiment} data-testid="link-experiment" data-predicted={String(e.predicted)}>
                  <strong>{e.experiment}</strong> ({e.techniques.join(', ')}):{' '}
                  {e.predicted === null ? 'no run before the impact' : e.predicted ? 'predicted it' : 'did not predict it'}
                  {e.lastBefore ? `; last run before: ${e.lastBefore.outcome}` : ''}
                  {e.latest ? `; latest: ${e.latest.outcome} (${formatTime(e.latest.endedAt)})` : ''}
                </li>
              ))}
            </ul>
          ) : l.techniques.length ? (
            <p className="muted">No experiment exercises these techniques.</p>
          ) : null}
        </>
      ) : null}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <input aria-label="SLO name" placeholder="SLO name" value={slo} onChange={(e) => setSlo(e.target.value)} />
        <input aria-label="ATT&CK technique" placeholder="T1110.004" value={technique} onChange={(e) => setTechnique(e.target.value)} />
        <button type="submit" disabled={busy || (!slo.trim() && !technique.trim())}>
          Link
        </button>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </Card>
  );
}
