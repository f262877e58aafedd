import type { ApiClient } from '../../api.ts';
import type { Slo } from '../../types.ts';

/** Every SLO with its status, lowest remaining budget first (as the API sorts them). */
export async function loadSlos(api: ApiClient, signal?: AbortSignal): Promise<Slo[]> {
  return (await api.get<{ slos: Slo[] }>('/v1/slos', signal)).slos;
}

export const percent = (ratio: number | null | undefined, digits = 2): string =>
  ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(digits)}%`;

/** One KPI as GET /v1/kpis gives it. */
export interface Kpi {
  kpi: string;
  title: string;
  from: string;
  to: string;
  group: string | null;
  status: 'ok' | 'no-data';
  count: number;
  incomplete: number;
  refused: number;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  sources: string[];
  why: string | null;
}

/** The KPIs over the last `window` (a duration such as 30d). */
export async function loadKpis(api: ApiClient, window: string, signal?: AbortSignal): Promise<{ from: string; to: string; kpis: Kpi[] }> {
  return api.get(`/v1/kpis?window=${encodeURIComponent(window)}`, signal);
}

/** One KRI as GET /v1/kris gives it. */
export interface Kri {
  kri: string;
  title: string;
  description: string;
  value: number | null;
  amber: number;
  red: number;
  colour: 'green' | 'amber' | 'red' | 'unknown';
  why: string;
  items: string[];
}

export async function loadKris(api: ApiClient, signal?: AbortSignal): Promise<{ at: string; kris: Kri[] }> {
  return api.get('/v1/kris', signal);
}
