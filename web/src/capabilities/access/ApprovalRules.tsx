import { useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadApprovalRules, putJson, withStepUp, type ApprovalPolicyRow, type ApprovalRulesView } from './data.ts';
import { StepUpCode } from './StepUpCode.tsx';

/** What each guarded action does, in words. */
const ACTIONS: Record<string, string> = {
  'experiment.delete': 'Deleting an experiment',
  'secret.delete': 'Deleting a sealed secret',
  'secret-key.rotate': 'Rotating the sealing key',
};

/** One rule as the form edits it: groups and roles as comma-separated text. */
interface RuleDraft {
  count: string;
  groups: string;
  roles: string;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const draftOf = (p: ApprovalPolicyRow | undefined): RuleDraft[] =>
  (p?.rules ?? []).map((r) => ({ count: String(r.count), groups: (r.groups ?? []).join(', '), roles: (r.roles ?? []).join(', ') }));

export function describePolicy(p: ApprovalPolicyRow): string {
  const rules = p.rules.map((r) => {
    const from = [r.groups?.length ? `group ${r.groups.join(' or ')}` : '', r.roles?.length ? `role ${r.roles.join(' or ')}` : '']
      .filter(Boolean)
      .join(', ');
    return `${r.count} approval${r.count === 1 ? '' : 's'}${from ? ` from ${from}` : ''}`;
  });
  return `${rules.join(' AND ')}${p.denials ? `; ${p.denials} denial${p.denials === 1 ? '' : 's'} refuse it` : ''}`;
}

/**
 * Approval rules: which existing actions need other people's approval, and whose. Each action is
 * off (it runs as asked) or has a policy: rules that must all be met (each: how many distinct
 * approvers, from which groups or roles), and how many denials refuse it. Saving needs a fresh
 * second factor.
 */
export function ApprovalRules() {
  const api = useApi();
  const [rules, reload] = useLoad('approval-rules', (signal) => loadApprovalRules(api, signal), { keepDataOnError: true });
  return (
    <>
      <p>
        <Link to="/access">← Access</Link>
      </p>
      <h1>Approval rules</h1>
      <p className="muted">
        An action with a policy answers with an approval request instead of running; the requester never counts, one person counts once.
        None is on by default.
      </p>
      <ErrorBanner error={rules.error} title="Could not load the approval rules" onRetry={reload} />
      {rules.data === undefined ? (
        rules.status === 'loading' ? (
          <Spinner label="Loading…" />
        ) : null
      ) : (
        rules.data.guardable.map((action) => <ActionRule key={action} action={action} view={rules.data!} onSaved={reload} />)
      )}
    </>
  );
}

function ActionRule({ action, view, onSaved }: { action: string; view: ApprovalRulesView; onSaved: () => void }) {
  const api = useApi();
  const current = view.actions[action];
  const [editing, setEditing] = useState(false);
  const [drafts, setDrafts] = useState<RuleDraft[]>(draftOf(current));
  const [denials, setDenials] = useState(String(current?.denials ?? ''));
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  function start() {
    setDrafts(current ? draftOf(current) : [{ count: '1', groups: '', roles: '' }]);
    setDenials(String(current?.denials ?? ''));
    setError(undefined);
    setEditing(true);
  }

  async function save(policy: ApprovalPolicyRow | undefined) {
    setBusy(true);
    setError(undefined);
    const actions = { ...view.actions };
    if (policy) actions[action] = policy;
    else delete actions[action];
    try {
      await withStepUp(api, code, () => putJson('/v1/approvals/rules', { actions }));
      setEditing(false);
      setCode('');
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  function policyFromDrafts(): ApprovalPolicyRow | string {
    if (drafts.length === 0) return 'Add a rule, or turn the approval off.';
    const rules = [];
    for (const [i, d] of drafts.entries()) {
      const count = Number(d.count);
      if (!Number.isInteger(count) || count < 1 || count > 10) return `Rule ${i + 1}: approvers is a whole number from 1 to 10.`;
      const groups = list(d.groups);
      const roles = list(d.roles);
      rules.push({ count, ...(groups.length ? { groups } : {}), ...(roles.length ? { roles } : {}) });
    }
    const n = denials.trim() === '' ? undefined : Number(denials);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 10)) return 'Denials is empty or a whole number from 1 to 10.';
    // How long a request waits is not edited here: a policy keeps the one it had.
    const expires = current?.expiresInMinutes;
    return { rules, ...(n !== undefined ? { denials: n } : {}), ...(expires !== undefined ? { expiresInMinutes: expires } : {}) };
  }

  const update = (i: number, patch: Partial<RuleDraft>) => setDrafts(drafts.map((d, j) => (j === i ? { ...d, ...patch } : d)));

  return (
    <Card title={ACTIONS[action] ?? action} testId={`rule-${action}`}>
      <p data-testid={`rule-${action}-policy`}>
        <code>{action}</code>: {current ? `needs ${describePolicy(current)}` : 'off: runs as asked'}
      </p>
      {!editing ? (
        <p>
          <button type="button" className="button" onClick={start} data-testid={`rule-${action}-edit`}>
            {current ? 'Change' : 'Require approval'}
          </button>
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const p = policyFromDrafts();
            if (typeof p === 'string') setError(p);
            else void save(p);
          }}
          noValidate
          data-testid={`rule-${action}-form`}
        >
          <p className="muted">Every rule must be met. Groups and roles: comma-separated; empty means anyone but the requester.</p>
          {drafts.map((d, i) => (
            <fieldset key={i} data-testid={`rule-${action}-${i}`}>
              <legend>Rule {i + 1}</legend>
              <label>
                Approvers{' '}
                <input
                  inputMode="numeric"
                  size={3}
                  value={d.count}
                  onChange={(e) => update(i, { count: e.target.value })}
                  data-testid={`rule-${action}-${i}-count`}
                />
              </label>{' '}
              <label>
                from groups{' '}
                <input
                  value={d.groups}
                  onChange={(e) => update(i, { groups: e.target.value })}
                  data-testid={`rule-${action}-${i}-groups`}
                />
              </label>{' '}
              <label>
                or roles{' '}
                <input value={d.roles} onChange={(e) => update(i, { roles: e.target.value })} data-testid={`rule-${action}-${i}-roles`} />
              </label>{' '}
              <button type="button" className="button button-small" onClick={() => setDrafts(drafts.filter((_, j) => j !== i))}>
                Remove
              </button>
            </fieldset>
          ))}
          <p>
            <button
              type="button"
              className="button button-small"
              onClick={() => setDrafts([...drafts, { count: '1', groups: '', roles: '' }])}
              disabled={drafts.length >= 5}
              data-testid={`rule-${action}-add`}
            >
              Add a rule (AND)
            </button>
          </p>
          <label>
            Denials that refuse it (empty: one){' '}
            <input inputMode="numeric" size={3} value={denials} onChange={(e) => setDenials(e.target.value)} />
          </label>
          <StepUpCode id={`rule-${action}-code`} code={code} setCode={setCode} error={error} />
          <p>
            <button type="submit" className="button button-primary" disabled={busy} data-testid={`rule-${action}-save`}>
              {busy ? 'Saving…' : 'Save'}
            </button>{' '}
            {current ? (
              <button
                type="button"
                className="button"
                disabled={busy}
                onClick={() => void save(undefined)}
                data-testid={`rule-${action}-off`}
              >
                Turn off
              </button>
            ) : null}{' '}
            <button type="button" className="button" disabled={busy} onClick={() => setEditing(false)}>
              Cancel
            </button>
          </p>
        </form>
      )}
    </Card>
  );
}
