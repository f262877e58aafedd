/**
 * Security keys in the browser: the server's options go to `navigator.credentials` through
 * @simplewebauthn/browser, and its answers back to the server. Nothing about a key is kept here.
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { ApiError, type ApiClient } from '../../api.ts';
import type { Session } from '../../types.ts';

export interface KeyRow {
  id: string;
  name: string;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
  suspendedAt: string | null;
}

export const webauthnSupported = (): boolean => browserSupportsWebAuthn();

export async function loadKeys(api: ApiClient, signal?: AbortSignal): Promise<{ configured: boolean; credentials: KeyRow[] }> {
  return api.get('/v1/webauthn/credentials', signal);
}

/** Register a key: options, the browser's ceremony (the person touches the key), the answer. */
export async function registerKey(api: ApiClient, name: string): Promise<KeyRow> {
  const optionsJSON = await api.post<PublicKeyCredentialCreationOptionsJSON>('/v1/webauthn/registration/options');
  const response = await startRegistration({ optionsJSON });
  return api.post<KeyRow>('/v1/webauthn/credentials', { name, response });
}

/** Step the session up with a key, so sensitive actions go ahead for the next minutes. */
export async function stepUpWithKey(api: ApiClient): Promise<void> {
  const optionsJSON = await api.post<PublicKeyCredentialRequestOptionsJSON>('/v1/session/step-up/webauthn/options');
  const response = await startAuthentication({ optionsJSON });
  await api.post('/v1/session/step-up/webauthn', { response });
}

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

/** Sign in with a token and a security key: a challenge for the token's person, the key's answer, the session. */
export async function signInWithKey(token: string): Promise<Session> {
  const optionsJSON = await postJson<PublicKeyCredentialRequestOptionsJSON>('/v1/session/webauthn/options', { token });
  const webauthn = await startAuthentication({ optionsJSON });
  return postJson<Session>('/v1/session', { token, webauthn });
}

/** The second factors a refused sign-in offers (details.methods; older servers: details.secondFactor). */
export function signInMethods(err: unknown): string[] {
  if (!(err instanceof ApiError) || err.status !== 401) return [];
  const d = err.details as { secondFactor?: unknown; methods?: unknown } | undefined;
  if (Array.isArray(d?.methods)) return d.methods.filter((m): m is string => typeof m === 'string');
  return typeof d?.secondFactor === 'string' ? [d.secondFactor] : [];
}
