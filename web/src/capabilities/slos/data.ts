import type { ApiClient } from '../../api.ts';
import type { z } from 'zod';
import type { KpiView } from '../../../../src/server/routes/slos-kpis.ts';
import type { KriView } from '../../../../src/server/routes/slos-kris.ts';
import type { Slo } from '../../types.ts';

/** Every SLO with its status, lowest remaining budget first (as the API sorts them). */
export async function loadSlos(api: ApiClient, signal?: AbortSignal): Promise<Slo[]> {
  return (await api.get<{ slos: Slo[] }>('/v1/slos', signal)).slos;
}

export const percent = (ratio: number | null | undefined, digits = 2): string =>
  ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(digits)}%`;

/** One KPI as GET /v1/kpis gives it (the route's response schema; a type-only import). */
export type Kpi = z.output<typeof KpiView>;

/** The KPIs over the last `window` (a duration such as 30d). */
export async function loadKpis(api: ApiClient, window: string, signal?: AbortSignal): Promise<{ from: string; to: string; kpis: Kpi[] }> {
  return api.get(`/v1/kpis?window=${encodeURIComponent(window)}`, signal);
}

/** One KRI as GET /v1/kris gives it. */
export type Kri = z.output<typeof KriView>;

export async function loadKris(api: ApiClient, signal?: AbortSignal): Promise<{ at: string; kris: Kri[] }> {
  return api.get('/v1/kris', signal);
}
