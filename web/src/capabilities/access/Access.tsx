import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ConfirmDialog, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { StepUpCode } from './StepUpCode.tsx';
import {
  loadRoles,
  loadPendingApprovals,
  loadPrincipals,
  loadUnreviewedBreakglass,
  needsStepUp,
  withStepUp,
  type ApprovalRow,
  type PrincipalRow,
} from './data.ts';

/** People and service accounts (disable one), approvals waiting, and breakglass waiting for review. */
export function Access() {
  return (
    <>
      <h1>Access</h1>
      <p className="muted">
        People and service accounts with their groups and roles. Create them with <code>bulwark principals create</code>; managing them
        needs a fresh second factor.
      </p>
      <p>
        <Link to="/access/secrets" className="button" data-testid="link-secrets">
          Sealed secrets
        </Link>{' '}
        <Link to="/access/approval-rules" className="button" data-testid="link-approval-rules">
          Approval rules
        </Link>{' '}
        <Link to="/access/security-keys" className="button" data-testid="link-security-keys">
          Your security keys
        </Link>
      </p>
      <Principals />
      <Roles />
      <Waiting />
    </>
  );
}

function Principals() {
  const api = useApi();
  const [list, reload] = useLoad('principals', (signal) => loadPrincipals(api, signal), { keepDataOnError: true });
  const [target, setTarget] = useState<PrincipalRow>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function disable(p: PrincipalRow) {
    setBusy(true);
    setError(undefined);
    try {
      await withStepUp(api, code, () => api.post(`/v1/principals/${encodeURIComponent(p.id)}/disable`));
      setTarget(undefined);
      setCode('');
      reload();
    } catch (err) {
      setError(needsStepUp(err) ? `${errorMessage(err)}` : errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h2>Principals</h2>
      <ErrorBanner error={list.error} title="Could not load the principals" onRetry={reload} />
      {list.data === undefined ? (
        list.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : list.data.length === 0 ? (
        <Card title="No principals yet">
          <p className="muted">
            Create one with <code>bulwark principals create person alice --role operator --group sre</code>.
          </p>
        </Card>
      ) : (
        <div className="table-wrap">
          <table className="entries" data-testid="principals">
            <thead>
              <tr>
                <th scope="col">Principal</th>
                <th scope="col">Roles</th>
                <th scope="col">Groups</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((p) => (
                <tr key={p.id} data-testid={`principal-${p.id}`}>
                  <td>
                    <code>{p.id}</code>
                  </td>
                  <td>{p.roles.join(', ')}</td>
                  <td>{p.groups.join(', ') || '—'}</td>
                  <td>{p.disabledAt ? `disabled ${p.disabledAt.slice(0, 16).replace('T', ' ')}` : 'active'}</td>
                  <td>
                    {p.disabledAt ? null : (
                      <button type="button" className="button" onClick={() => setTarget(p)} data-testid={`disable-${p.id}`}>
                        Disable
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={target !== undefined}
        title={`Disable ${target?.id ?? ''}?`}
        confirmLabel="Disable"
        busyLabel="Disabling…"
        busy={busy}
        danger
        onConfirm={() => target && void disable(target)}
        onCancel={() => {
          setTarget(undefined);
          setError(undefined);
        }}
        testId="disable-dialog"
      >
        <p>Its tokens are revoked at once, and with them its dashboard sessions, on every server.</p>
        <StepUpCode id="disable-code" code={code} setCode={setCode} error={error} />
      </ConfirmDialog>
    </>
  );
}

/** The roles principals can hold: the custom ones (grants, condition) and the built-in ones. */
function Roles() {
  const api = useApi();
  const [roles, reload] = useLoad('roles', (signal) => loadRoles(api, signal), { keepDataOnError: true });
  return (
    <>
      <h2>Roles</h2>
      <ErrorBanner error={roles.error} title="Could not load the roles" onRetry={reload} />
      {roles.data === undefined ? null : (
        <>
          {roles.data.custom.length === 0 ? (
            <p className="muted" data-testid="roles-none">
              No custom roles. Apply a file of them with <code>bulwark roles apply roles.yaml</code> (docs/access.md).
            </p>
          ) : (
            <div className="table-wrap">
              <table className="entries" data-testid="roles">
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Grants</th>
                    <th scope="col">Only where</th>
                    <th scope="col">Version</th>
                  </tr>
                </thead>
                <tbody>
                  {roles.data.custom.map((r) => (
                    <tr key={r.name} data-testid={`role-${r.name}`}>
                      <td>
                        <code>{r.name}</code>
                        {r.description ? <div className="muted">{r.description}</div> : null}
                      </td>
                      <td>{r.grants.join(', ')}</td>
                      <td>{r.condition ? <code>{r.condition}</code> : 'always'}</td>
                      <td>v{r.version}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="muted">Built in: {roles.data.builtIn.map((b) => b.name).join(', ')}.</p>
        </>
      )}
    </>
  );
}

/** What waits for someone: approval requests, and breakglass not yet reviewed (always visible). */
function Waiting() {
  const api = useApi();
  const [approvals, reloadApprovals] = useLoad('approvals-pending', (signal) => loadPendingApprovals(api, signal), {
    keepDataOnError: true,
  });
  const [deciding, setDeciding] = useState<{ approval: ApprovalRow; decision: 'approve' | 'deny' }>();
  const [reason, setReason] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function decide() {
    if (!deciding) return;
    if (reason.trim().length === 0) return setError('Give a reason: it is recorded in the ledger.');
    setBusy(true);
    setError(undefined);
    try {
      await withStepUp(api, code, () => api.post(`/v1/approvals/${deciding.approval.id}/${deciding.decision}`, { reason: reason.trim() }));
      setDeciding(undefined);
      setReason('');
      setCode('');
      reloadApprovals();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const [breakglass] = useLoad('breakglass-unreviewed', (signal) => loadUnreviewedBreakglass(api, signal), { keepDataOnError: true });
  return (
    <>
      <h2>Breakglass waiting for review</h2>
      {breakglass.error ? <ErrorBanner error={breakglass.error} title="Could not load breakglass" /> : null}
      {breakglass.data?.length === 0 ? <p className="muted">None.</p> : null}
      <ul data-testid="breakglass-unreviewed">
        {breakglass.data?.map((b) => (
          <li key={b.id}>
            <strong>{b.principalId}</strong> took <code>{b.permission}</code> at {b.startedAt.slice(0, 16).replace('T', ' ')}
            {b.active ? ' (still active)' : ''}: {b.reason}. Review with <code>POST /v1/breakglass/{b.id}/review</code>.
          </li>
        ))}
      </ul>
      <h2>Approvals waiting</h2>
      {approvals.error ? <ErrorBanner error={approvals.error} title="Could not load approvals" /> : null}
      {approvals.data?.length === 0 ? <p className="muted">None.</p> : null}
      <ul data-testid="approvals-pending">
        {approvals.data?.map((a) => (
          <li key={a.id} data-testid={`approval-${a.id}`}>
            <code>{a.id}</code> {a.kind} on {a.resource} by {a.requestedBy}: “{a.summary}” ({a.reason}); needs {a.missing.join('; ')}.{' '}
            <button
              type="button"
              className="button"
              onClick={() => setDeciding({ approval: a, decision: 'approve' })}
              data-testid={`approve-${a.id}`}
            >
              Approve
            </button>{' '}
            <button
              type="button"
              className="button"
              onClick={() => setDeciding({ approval: a, decision: 'deny' })}
              data-testid={`deny-${a.id}`}
            >
              Deny
            </button>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={deciding !== undefined}
        title={`${deciding?.decision === 'deny' ? 'Deny' : 'Approve'} ${deciding?.approval.summary ?? ''}?`}
        confirmLabel={deciding?.decision === 'deny' ? 'Deny' : 'Approve'}
        busyLabel="Sending…"
        busy={busy}
        danger={deciding?.decision === 'deny'}
        onConfirm={() => void decide()}
        onCancel={() => {
          setDeciding(undefined);
          setError(undefined);
        }}
        testId="decide-dialog"
      >
        <p>
          {deciding?.approval.kind} on {deciding?.approval.resource}, asked by {deciding?.approval.requestedBy}. Your decision and reason go
          into the ledger.
        </p>
        <label htmlFor="decide-reason">Reason</label>
        <input id="decide-reason" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="decide-reason" />
        <StepUpCode id="decide-code" code={code} setCode={setCode} error={error} />
      </ConfirmDialog>
    </>
  );
}
