import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { isAbort, type ApiClient } from './api.ts';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (!client) throw new Error('useApi must be used inside a signed-in session');
  return client;
}

export type Loadable<T> =
  // While reloading, `data` keeps the previous answer so the page does not flash empty.
  | { status: 'loading'; data?: T; error?: undefined }
  | { status: 'ready'; data: T; error?: undefined }
  // `data` is kept on error only when asked (`keepDataOnError`), for pages that refresh themselves.
  | { status: 'error'; data?: T; error: unknown };

export interface LoadOptions {
  /**
   * Keep showing the last answer when a reload fails (with the error beside it): right for a
   * page that refreshes on its own, where one failed poll should not blank what is on screen.
   */
  keepDataOnError?: boolean;
}

/**
 * Runs `load` whenever `key` changes (or on reload), cancelling the previous request so a slow
 * answer for an old page never overwrites a newer one.
 */
export function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>, options: LoadOptions = {}): [Loadable<T>, () => void] {
  const keep = options.keepDataOnError === true;
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState((prev) => (prev.status === 'loading' ? prev : { status: 'loading', data: prev.data }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: 'ready', data });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        setState((prev) => (keep && prev.data !== undefined ? { status: 'error', error, data: prev.data } : { status: 'error', error }));
      },
    );
    return () => controller.abort();
    // `load` is a fresh closure each render on purpose; `key` names what it loads.
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return [state, reload];
}

/**
 * Reloads `intervalMs` after each answer while `active`: the next request starts only once the
 * previous one has finished, so a slow server is never asked twice at once.
 */
export function useRefreshWhile(active: boolean, intervalMs: number, state: Loadable<unknown>, reload: () => void): void {
  const settled = state.status !== 'loading';
  useEffect(() => {
    if (!active || !settled) return;
    const timer = window.setTimeout(reload, intervalMs);
    return () => window.clearTimeout(timer);
  }, [active, settled, state, intervalMs, reload]);
}
