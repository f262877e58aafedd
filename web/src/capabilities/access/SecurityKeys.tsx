import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ConfirmDialog, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { needsStepUp } from './data.ts';
import { loadKeys, registerKey, stepUpWithKey, webauthnSupported, type KeyRow } from './webauthn.ts';

/**
 * The signed-in person's security keys and passkeys: register one (the browser asks to touch it),
 * see when each was last used, remove one. Adding or removing a key needs a fresh second factor
 * when the person has one: a key they hold, or a code.
 */
export function SecurityKeys() {
  const api = useApi();
  const [keys, reload] = useLoad('webauthn-keys', (signal) => loadKeys(api, signal), { keepDataOnError: true });
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [target, setTarget] = useState<KeyRow>();
  const supported = webauthnSupported();

  /** Run a change; when it needs a fresh factor, step up (with the code if typed, else a key) and run it again. */
  async function fresh<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (!needsStepUp(err)) throw err;
      if (code.trim()) await api.post('/v1/session/step-up', { code: code.trim() });
      else await stepUpWithKey(api);
      return change();
    }
  }

  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!name.trim()) return setError('Name the key first (for example "yubikey blue").');
    setBusy(true);
    setError(undefined);
    try {
      await fresh(() => registerKey(api, name.trim()));
      setName('');
      setCode('');
      reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function remove(k: KeyRow) {
    setBusy(true);
    setError(undefined);
    try {
      await fresh(() => api.delete(`/v1/webauthn/credentials/${encodeURIComponent(k.id)}`));
      setTarget(undefined);
      setCode('');
      reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Security keys</h1>
      <p className="muted">
        Security keys and passkeys are a second factor that a look-alike site cannot phish: the browser signs for this site only. Sign in
        and confirm sensitive actions with one; register two, in case one is lost.
      </p>
      <ErrorBanner error={keys.error} title="Could not load your keys" onRetry={reload} />
      {error ? (
        <p className="banner banner-error" role="alert" data-testid="keys-error">
          {error}
        </p>
      ) : null}
      {keys.data === undefined ? (
        keys.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : !keys.data.configured ? (
        <Card title="Not configured">
          <p className="muted">
            This server has no relying party for security keys: set <code>access.webauthn</code> (rpId and origins) in its configuration.
          </p>
        </Card>
      ) : (
        <>
          {keys.data.credentials.length === 0 ? (
            <p className="muted">No keys yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="entries" data-testid="security-keys">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Transports</th>
                    <th>Registered</th>
                    <th>Last used</th>
                    <th>State</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {keys.data.credentials.map((k) => (
                    <tr key={k.id}>
                      <td>{k.name}</td>
                      <td>{k.transports.join(', ') || '—'}</td>
                      <td>{k.createdAt}</td>
                      <td>{k.lastUsedAt ?? 'never'}</td>
                      <td>{k.suspendedAt ? <span className="badge badge-error">suspended: cloned?</span> : 'active'}</td>
                      <td>
                        <button type="button" className="button" onClick={() => setTarget(k)} disabled={busy}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <form onSubmit={(e) => void add(e)} noValidate data-testid="add-key">
            <h2>Add a key</h2>
            <label htmlFor="key-name">Name</label>
            <input id="key-name" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} data-testid="key-name" />
            <label htmlFor="key-code">Your second-factor code (if you use an authenticator app)</label>
            <input
              id="key-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.target.value)}
              data-testid="key-code"
            />
            <p className="help">Without a code, a key you have registered already confirms the change.</p>
            <button type="submit" className="button button-primary" disabled={busy || !supported} data-testid="add-key-submit">
              {busy ? 'Waiting for the key…' : 'Register a key'}
            </button>
            {!supported ? <p className="muted">This browser does not support security keys.</p> : null}
          </form>
        </>
      )}
      <ConfirmDialog
        open={target !== undefined}
        title={`Remove the key "${target?.name ?? ''}"?`}
        confirmLabel="Remove"
        busy={busy}
        onConfirm={() => target && void remove(target)}
        onCancel={() => setTarget(undefined)}
      >
        <p>It will no longer sign you in. Other keys and your authenticator app stay.</p>
      </ConfirmDialog>
    </>
  );
}
