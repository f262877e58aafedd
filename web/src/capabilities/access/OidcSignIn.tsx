import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../../api.ts';
import type { Session } from '../../types.ts';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { webauthnSupported } from './webauthn.ts';

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const json = (await res.json().catch(() => ({}))) as { error?: string; message?: string; details?: unknown };
  if (!res.ok) throw new ApiError(res.status, json.error ?? 'http_error', json.message ?? `HTTP ${res.status}`, json.details);
  return json as T;
}

/** Whether the page was reached from an OIDC sign-in that waits for the second factor. */
export const oidcSecondFactorPending = (): boolean => new URLSearchParams(window.location.search).get('oidc') === 'second-factor';

/** "Sign in with your identity provider", when this server has OIDC configured: a plain link, the server redirects. */
export function OidcButton() {
  const [configured, setConfigured] = useState(false);
  useEffect(() => {
    const c = new AbortController();
    fetch('/v1/oidc', { signal: c.signal, credentials: 'same-origin' })
      .then(async (r) => (r.ok ? ((await r.json()) as { configured: boolean }) : { configured: false }))
      .then((b) => setConfigured(b.configured))
      .catch(() => setConfigured(false));
    return () => c.abort();
  }, []);
  if (!configured) return null;
  return (
    <p>
      <a className="button" href="/v1/oidc/start" data-testid="signin-oidc">
        Sign in with your identity provider
      </a>
    </p>
  );
}

/** The second factor after an OIDC sign-in: a code, or a security key; the server finishes the sign-in it holds for this browser. */
export function OidcSecondFactor({ onSignedIn, onCancel }: { onSignedIn: (s: Session) => void; onCancel: () => void }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const ref = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => ref.current?.focus(), []);

  async function finish(body: unknown) {
    setBusy(true);
    setError(undefined);
    try {
      const session = await postJson<Session>('/v1/oidc/complete', body);
      window.history.replaceState(null, '', '/');
      onSignedIn(session);
    } catch (err) {
      setError(`${errorMessage(err)} Sign in again.`);
      setBusy(false);
    }
  }

  async function withKey() {
    try {
      const optionsJSON = await postJson<PublicKeyCredentialRequestOptionsJSON>('/v1/oidc/webauthn/options', {});
      await finish({ webauthn: await startAuthentication({ optionsJSON }) });
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!code.trim()) return setError('Enter the code from your authenticator app, or use a security key.');
    void finish({ code: code.trim() });
  }

  return (
    <form className="signin-card" onSubmit={submit} noValidate aria-labelledby={`${id}-title`} data-testid="oidc-second-factor">
      <h1 id={`${id}-title`}>Second factor</h1>
      <p className="muted">Your identity provider signed you in; Bulwark asks for your second factor too.</p>
      {error ? (
        <p className="banner banner-error" role="alert">
          {error}
        </p>
      ) : null}
      <label htmlFor={id}>Code</label>
      <input ref={ref} id={id} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>{' '}
      {webauthnSupported() ? (
        <>
          <button type="button" className="button" onClick={() => void withKey()} disabled={busy}>
            Use a security key
          </button>{' '}
        </>
      ) : null}
      <button
        type="button"
        className="button"
        onClick={() => {
          window.history.replaceState(null, '', '/');
          onCancel();
        }}
        disabled={busy}
      >
        Back
      </button>
    </form>
  );
}
