import { ApiError, type ApiClient } from '../../api.ts';
import type { Checkpoint, EntriesPage, VerifyReport } from '../../types.ts';

export const PAGE_SIZE = 20;

export function entriesPath(from: number | null, limit: number = PAGE_SIZE): string {
  const params = new URLSearchParams({ order: 'desc', limit: String(limit) });
  if (from !== null) params.set('from', String(from));
  return `/v1/ledger/entries?${params.toString()}`;
}

export function loadEntries(api: ApiClient, from: number | null, signal: AbortSignal, limit?: number): Promise<EntriesPage> {
  return api.get<EntriesPage>(entriesPath(from, limit), signal);
}

/** The latest checkpoint, or null before the first one is signed (the API answers 404). */
export async function loadCheckpoint(api: ApiClient, signal: AbortSignal): Promise<Checkpoint | null> {
  try {
    return await api.get<Checkpoint>('/v1/ledger/checkpoint', signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function runVerify(api: ApiClient, signal?: AbortSignal): Promise<VerifyReport> {
  return api.get<VerifyReport>('/v1/ledger/verify', signal);
}
