import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ConfirmDialog, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { isApprovalPending, loadSecrets, putJson, withStepUp, type SecretRow } from './data.ts';
import { StepUpCode } from './StepUpCode.tsx';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const time = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/**
 * Sealed secrets: names, versions, keys and times (the API never gives a value back), a form that
 * sets one (the value field is a password field, cleared as soon as it is sent, and the answer
 * holds no value), and deleting one. Both need a fresh second factor; a delete that needs approval
 * says so.
 */
export function Secrets() {
  const api = useApi();
  const [list, reload] = useLoad('secrets', (signal) => loadSecrets(api, signal), { keepDataOnError: true });
  const [notice, setNotice] = useState<string>();
  return (
    <>
      <p>
        <Link to="/access">← Access</Link>
      </p>
      <h1>Sealed secrets</h1>
      <p className="muted">
        Experiments name these instead of holding values (<code>{'{type: sealed, name: NAME}'}</code>). Values are sealed with a key kept
        outside the database and are never shown again, here or anywhere.
      </p>
      {notice ? (
        <p className="banner" role="status" data-testid="secrets-notice">
          {notice}
        </p>
      ) : null}
      <ErrorBanner error={list.error} title="Could not load the secrets" onRetry={reload} />
      {list.data === undefined ? (
        list.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : list.data.length === 0 ? (
        <p className="muted" data-testid="secrets-empty">
          No secrets yet.
        </p>
      ) : (
        <SecretTable
          rows={list.data}
          onDone={(m) => {
            setNotice(m);
            reload();
          }}
        />
      )}
      <SetSecret
        onDone={(m) => {
          setNotice(m);
          reload();
        }}
      />
    </>
  );
}

function SecretTable({ rows, onDone }: { rows: SecretRow[]; onDone: (message: string) => void }) {
  const api = useApi();
  const [target, setTarget] = useState<SecretRow>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function remove(s: SecretRow) {
    setBusy(true);
    setError(undefined);
    try {
      const r = await withStepUp(api, code, () => api.delete<unknown>(`/v1/secrets/${encodeURIComponent(s.name)}`));
      setTarget(undefined);
      setCode('');
      onDone(isApprovalPending(r) ? `Deleting ${s.name} needs approval: ${r.message}` : `Deleted ${s.name}.`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <div className="table-wrap">
        <table className="entries" data-testid="secrets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Key</th>
              <th scope="col">Updated</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.name} data-testid={`secret-${s.name}`}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>v{s.version}</td>
                <td>
                  <code>{s.keyId}</code>
                </td>
                <td>
                  {time(s.updatedAt)} by {s.updatedBy}
                </td>
                <td>
                  {time(s.createdAt)} by {s.createdBy}
                </td>
                <td>
                  <button type="button" className="button" onClick={() => setTarget(s)} data-testid={`delete-secret-${s.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ConfirmDialog
        open={target !== undefined}
        title={`Delete ${target?.name ?? ''}?`}
        confirmLabel="Delete"
        busyLabel="Deleting…"
        busy={busy}
        danger
        onConfirm={() => target && void remove(target)}
        onCancel={() => {
          setTarget(undefined);
          setError(undefined);
        }}
        testId="delete-secret-dialog"
      >
        <p>Experiments that name it can no longer run until it is set again.</p>
        <StepUpCode id="delete-secret-code" code={code} setCode={setCode} error={error} />
      </ConfirmDialog>
    </>
  );
}

function SetSecret({ onDone }: { onDone: (message: string) => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const n = name.trim();
    if (!NAME.test(n)) return setError('A name is 1–63 lowercase letters, digits and . _ -, starting with a letter or digit.');
    if (value.length === 0) return setError('Enter the value.');
    setBusy(true);
    setError(undefined);
    // The value leaves the form as it is sent: it is not kept in this page's state afterwards.
    const sent = value;
    setValue('');
    try {
      const s = await withStepUp(api, code, () => putJson<SecretRow>(`/v1/secrets/${encodeURIComponent(n)}`, { value: sent }));
      setName('');
      setCode('');
      onDone(`Set ${s.name}: version ${s.version}, sealed under key ${s.keyId}.`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Set a secret">
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="secret-form">
        <p className="muted">A new name, or a new version of one above. The value is sealed at once and never shown again.</p>
        <label htmlFor="secret-name">Name</label>
        <input
          id="secret-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={63}
          spellCheck={false}
          autoCapitalize="off"
          placeholder="shop.token"
          data-testid="secret-name"
        />
        <label htmlFor="secret-value">Value</label>
        <input
          id="secret-value"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          data-testid="secret-value"
        />
        <StepUpCode id="secret-code" code={code} setCode={setCode} error={error} />
        <p>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="secret-submit">
            {busy ? 'Sealing…' : 'Set secret'}
          </button>
        </p>
      </form>
    </Card>
  );
}
