import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, createClient, errorMessage, fetchSession, isAbort, tokenStore } from './api.ts';
import { ApiContext } from './hooks.ts';
import { Layout } from './Layout.tsx';
import { SignIn } from './pages/SignIn.tsx';
import type { Session } from './types.ts';

type Auth =
  | { state: 'checking' }
  | { state: 'signed-out'; notice?: string; error?: string }
  | { state: 'signed-in'; token: string; session: Session };

function initialAuth(): Auth {
  return tokenStore.get() ? { state: 'checking' } : { state: 'signed-out' };
}

export function App() {
  const [auth, setAuth] = useState<Auth>(initialAuth);

  // A stored token (page reload, deep link in the same tab) is checked again before use.
  useEffect(() => {
    if (auth.state !== 'checking') return;
    const token = tokenStore.get();
    if (!token) {
      setAuth({ state: 'signed-out' });
      return;
    }
    const controller = new AbortController();
    fetchSession(token, controller.signal).then(
      (session) => setAuth({ state: 'signed-in', token, session }),
      (err: unknown) => {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 401) {
          tokenStore.clear();
          setAuth({ state: 'signed-out', notice: `Your session has ended: ${err.message}` });
        } else {
          setAuth({ state: 'signed-out', error: errorMessage(err) });
        }
      },
    );
    return () => controller.abort();
  }, [auth.state]);

  const signedIn = useCallback((token: string, session: Session) => {
    tokenStore.set(token);
    setAuth({ state: 'signed-in', token, session });
  }, []);

  const signOut = useCallback((notice?: string) => {
    tokenStore.clear();
    setAuth(notice ? { state: 'signed-out', notice } : { state: 'signed-out' });
  }, []);

  const token = auth.state === 'signed-in' ? auth.token : null;
  const client = useMemo(
    () => (token ? createClient(token, (message) => signOut(`Your session has ended: ${message}`)) : null),
    [token, signOut],
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
      <Layout session={auth.session} onSignOut={() => signOut()} />
    </ApiContext.Provider>
  );
}
