import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorMessage, signIn } from '../api.ts';
import type { Session } from '../types.ts';
import { needsSecondFactor } from '../capabilities/access/data.ts';
import { SecondFactorPrompt } from '../capabilities/access/SecondFactorPrompt.tsx';
import { OidcButton, OidcSecondFactor, oidcSecondFactorPending } from '../capabilities/access/OidcSignIn.tsx';

interface SignInProps {
  onSignedIn: (session: Session) => void;
  notice?: string;
  error?: string;
}

export function SignIn({ onSignedIn, notice, error: initialError }: SignInProps) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(initialError);
  /** The token of a person with a second factor, while the code is asked for. */
  const [awaitingCode, setAwaitingCode] = useState<string>();
  /** Back from the OIDC provider, with a second factor to give. */
  const [oidcPending, setOidcPending] = useState(oidcSecondFactorPending);
  const inputRef = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const helpId = useId();
  const errorId = useId();

  useEffect(() => {
    document.title = 'Sign in · Bulwark';
    inputRef.current?.focus();
  }, []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = token.trim();
    if (value.length === 0) {
      setError('Enter an API token.');
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(value);
      onSignedIn(session);
    } catch (err) {
      setBusy(false);
      if (needsSecondFactor(err)) return setAwaitingCode(value);
      setError(errorMessage(err));
      inputRef.current?.select();
    }
  }

  if (oidcPending)
    return (
      <main className="signin">
        <OidcSecondFactor onSignedIn={onSignedIn} onCancel={() => setOidcPending(false)} />
      </main>
    );

  if (awaitingCode !== undefined)
    return (
      <main className="signin">
        <SecondFactorPrompt token={awaitingCode} onSignedIn={onSignedIn} onCancel={() => setAwaitingCode(undefined)} />
      </main>
    );

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="signin-title">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">◆</span> Bulwark
        </div>
        <h1 id="signin-title">Sign in</h1>
        {notice ? (
          <p className="banner banner-info" role="status">
            {notice}
          </p>
        ) : null}
        {error ? (
          <p className="banner banner-error" role="alert" id={errorId} data-testid="error-banner">
            {error}
          </p>
        ) : null}
        <label htmlFor={inputId}>API token</label>
        <input
          ref={inputRef}
          id={inputId}
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          autoCapitalize="off"
          placeholder="bwk_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? `${helpId} ${errorId}` : helpId}
          aria-invalid={error ? true : undefined}
          data-testid="signin-token"
        />
        <p className="help" id={helpId}>
          Tokens start with <code>bwk_</code>. Create one with <code>bulwark tokens create</code>. It is sent once to open a session; the
          browser keeps only the session's cookie, never the token.
        </p>
        <button type="submit" className="button button-primary" disabled={busy} data-testid="signin-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <OidcButton />
      </form>
    </main>
  );
}
