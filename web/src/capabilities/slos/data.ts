import type { ApiClient } from '../../api.ts';
import type { Slo } from '../../types.ts';

/** Every SLO with its status, lowest remaining budget first (as the API sorts them). */
export async function loadSlos(api: ApiClient, signal?: AbortSignal): Promise<Slo[]> {
  return (await api.get<{ slos: Slo[] }>('/v1/slos', signal)).slos;
}

export const percent = (ratio: number | null | undefined, digits = 2): string =>
  ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(digits)}%`;
