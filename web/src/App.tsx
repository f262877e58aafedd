import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, createClient, errorMessage, fetchSession, isAbort, signOut as endSession } from './api.ts';
import { ApiContext } from './hooks.ts';
import { Layout } from './Layout.tsx';
import { SignIn } from './pages/SignIn.tsx';
import type { Session } from './types.ts';

type Auth = { state: 'checking' } | { state: 'signed-out'; notice?: string; error?: string } | { state: 'signed-in'; session: Session };

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });

  // A session cookie (page reload, deep link, another tab) is checked before anything is shown.
  useEffect(() => {
    if (auth.state !== 'checking') return;
    const controller = new AbortController();
    fetchSession(controller.signal).then(
      (session) => setAuth({ state: 'signed-in', session }),
      (err: unknown) => {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 401) {
          // No session, or it ended: a cookie that was sent and refused says why.
          setAuth(
            /sign in again|revoked|expired|signed out/.test(err.message)
              ? { state: 'signed-out', notice: `Your session has ended: ${err.message}` }
              : { state: 'signed-out' },
          );
        } else {
          setAuth({ state: 'signed-out', error: errorMessage(err) });
        }
      },
    );
    return () => controller.abort();
  }, [auth.state]);

  const signedIn = useCallback((session: Session) => {
    setAuth({ state: 'signed-in', session });
  }, []);

  const signedOut = useCallback((notice?: string) => {
    setAuth(notice ? { state: 'signed-out', notice } : { state: 'signed-out' });
  }, []);

  const signOut = useCallback(() => {
    // The server ends the session and clears the cookie; the screen changes either way.
    endSession().then(
      () => signedOut(),
      (err: unknown) => signedOut(`Signing out on the server failed (${errorMessage(err)}); close the browser to drop the cookie.`),
    );
  }, [signedOut]);

  const isSignedIn = auth.state === 'signed-in';
  const client = useMemo(
    () => (isSignedIn ? createClient((message) => signedOut(`Your session has ended: ${message}`)) : null),
    [isSignedIn, signedOut],
  );

  if (auth.state === 'checking') {
    return (
      <main className="centered" aria-busy="true">
        <p className="muted">Checking your session…</p>
      </main>
    );
  }

  if (auth.state === 'signed-out' || !client) {
    const props = auth.state === 'signed-out' ? auth : {};
    return <SignIn onSignedIn={signedIn} {...props} />;
  }

  return (
    <ApiContext.Provider value={client}>
      <Layout session={auth.session} onSignOut={signOut} />
    </ApiContext.Provider>
  );
}
