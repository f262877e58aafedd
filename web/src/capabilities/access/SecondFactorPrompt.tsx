import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api.ts';
import type { Session } from '../../types.ts';
import { signInWithCode } from './data.ts';
import { signInWithKey, webauthnSupported } from './webauthn.ts';

/**
 * The sign-in's second step for a person with a second factor: the six digits from the
 * authenticator app (or a recovery code), or a security key (the browser asks to touch it). The token was typed in the step before; it is sent
 * again with the code and then forgotten.
 */
export function SecondFactorPrompt({
  token,
  onSignedIn,
  onCancel,
}: {
  token: string;
  onSignedIn: (s: Session) => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const ref = useRef<HTMLInputElement>(null);
  const id = useId();
  const helpId = useId();

  useEffect(() => ref.current?.focus(), []);

  async function useKey() {
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signInWithKey(token));
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (code.trim().length === 0) {
      setError('Enter the code from your authenticator app.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signInWithCode(token, code.trim()));
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
      setCode('');
      ref.current?.focus();
    }
  }

  return (
    <form className="signin-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="second-factor">
      <div className="brand brand-large" aria-hidden="true">
        <span className="brand-mark">◆</span> Bulwark
      </div>
      <h1 id={`${id}-title`}>Second factor</h1>
      {error ? (
        <p className="banner banner-error" role="alert" data-testid="error-banner">
          {error}
        </p>
      ) : null}
      <label htmlFor={id}>Code</label>
      <input
        ref={ref}
        id={id}
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        spellCheck={false}
        autoCapitalize="off"
        placeholder="123456"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        aria-describedby={helpId}
        data-testid="second-factor-code"
      />
      <p className="help" id={helpId}>
        The six digits your authenticator app shows now, or one of your recovery codes (each works once).
      </p>
      <button type="submit" className="button button-primary" disabled={busy} data-testid="second-factor-submit">
        {busy ? 'Checking…' : 'Sign in'}
      </button>{' '}
      {webauthnSupported() ? (
        <>
          <button type="button" className="button" onClick={() => void useKey()} disabled={busy} data-testid="second-factor-key">
            Use a security key
          </button>{' '}
        </>
      ) : null}
      <button type="button" className="button" onClick={onCancel} disabled={busy}>
        Back
      </button>
    </form>
  );
}
