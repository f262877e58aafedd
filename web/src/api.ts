import type { ApiErrorBody, Session } from './types.ts';

/** An error answered by the API (status >= 400) or a failure to reach it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string';
}

/**
 * One call to the API. The dashboard authenticates with its session cookie (HttpOnly: this code
 * never sees it); the token is sent once, to open the session, and is not kept.
 */
async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  if (init.body !== undefined && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');

  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the Bulwark server. Check that it is running and try again.');
  }

  const text = await res.text();
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', `The server sent a response that is not JSON (${path}).`);
    }
  }

  if (!res.ok) {
    if (isErrorBody(body)) {
      throw new ApiError(res.status, body.error, body.message ?? `${body.error} (HTTP ${res.status})`, body.details);
    }
    throw new ApiError(res.status, 'http_error', `The server answered HTTP ${res.status} ${res.statusText}`.trim());
  }
  return body as T;
}

/** The session this browser holds (401 when none). */
export function fetchSession(signal?: AbortSignal): Promise<Session> {
  return request<Session>('/v1/session', signal ? { signal } : {});
}

/** Open a session with a token: the server sets the cookie; the token is not kept here. */
export function signIn(token: string): Promise<Session> {
  return request<Session>('/v1/session', { method: 'POST', body: JSON.stringify({ token }) });
}

/** End the session: the server revokes it and clears the cookie. */
export async function signOut(): Promise<void> {
  await request<{ ended: boolean }>('/v1/session', { method: 'DELETE' });
}

export interface ApiClient {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** POST with a JSON body (an empty object when none is given). */
  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
  /** DELETE, without a body. */
  delete<T>(path: string, signal?: AbortSignal): Promise<T>;
}

/**
 * A client of the signed-in session. Any 401 means the session ended (signed out elsewhere,
 * idle, expired, or its token revoked), so it reports that to the app, which returns to the
 * sign-in screen.
 */
export function createClient(onUnauthorized: (message: string) => void): ApiClient {
  async function send<T>(path: string, init: RequestInit): Promise<T> {
    try {
      return await request<T>(path, init);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onUnauthorized(err.message);
      throw err;
    }
  }
  return {
    get<T>(path: string, signal?: AbortSignal): Promise<T> {
      return send<T>(path, signal ? { signal } : {});
    },
    post<T>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
      return send<T>(path, { method: 'POST', body: JSON.stringify(body), ...(signal ? { signal } : {}) });
    },
    delete<T>(path: string, signal?: AbortSignal): Promise<T> {
      return send<T>(path, { method: 'DELETE', ...(signal ? { signal } : {}) });
    },
  };
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
