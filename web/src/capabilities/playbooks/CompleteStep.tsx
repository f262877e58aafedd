import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { useApi } from '../../hooks.ts';

/** The form a person records a waiting step with: done or failed (manual), confirm or decline (assisted). */
export function CompleteStep({ run, step, mode, onDone }: { run: string; step: string; mode: string; onDone: () => void }) {
  const api = useApi();
  const [notes, setNotes] = useState('');
  const [mins, setMins] = useState('5');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const send = async (outcome: string) => {
    setBusy(true);
    setError(null);
    try {
      const m = Number(mins);
      await api.post(`/v1/playbook-runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/complete`, {
        outcome,
        notes,
        ...(Number.isFinite(m) && m >= 0 ? { timeSpentMs: Math.round(m * 60_000) } : {}),
      });
      onDone();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const [yes, no] = mode === 'manual' ? ['done', 'failed'] : ['confirmed', 'declined'];
  return (
    <div className="complete-step" data-testid="complete-step">
      <label>
        Notes <input value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={2000} data-testid="step-notes" />
      </label>{' '}
      <label>
        Minutes spent{' '}
        <input value={mins} onChange={(e) => setMins(e.target.value)} size={4} inputMode="numeric" data-testid="step-minutes" />
      </label>{' '}
      <button
        type="button"
        className="button button-small button-primary"
        disabled={busy}
        onClick={() => void send(yes)}
        data-testid="step-yes"
      >
        {mode === 'manual' ? 'Done' : 'Confirm and run'}
      </button>{' '}
      <button type="button" className="button button-small" disabled={busy} onClick={() => void send(no)} data-testid="step-no">
        {mode === 'manual' ? 'Failed' : 'Decline'}
      </button>
      {error ? <p className="error">{error}</p> : null}
    </div>
  );
}
