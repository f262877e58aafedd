import type { z } from 'zod';
import type { ApiClient } from '../../api.ts';
import type { ChecklistItem, PlaybookItem, PromotionView, RunDetail, RunItem, ToilView } from '../../../../src/server/routes/playbooks.ts';

// Shapes of the playbook API, from the server's response schemas (a type-only import).
export type Playbook = z.output<typeof PlaybookItem>;
export type PlaybookRun = z.output<typeof RunItem>;
export type PlaybookRunDetail = z.output<typeof RunDetail>;
export type ChecklistStep = z.output<typeof ChecklistItem>;
export type Promotion = z.output<typeof PromotionView>;
export type Toil = z.output<typeof ToilView>;

export const runHref = (id: string) => `/playbooks/runs/${encodeURIComponent(id)}`;

export async function loadPlaybooks(api: ApiClient, signal?: AbortSignal) {
  const [playbooks, runs, toil, promotions] = await Promise.all([
    api.get<{ playbooks: Playbook[] }>('/v1/playbooks', signal),
    api.get<{ runs: PlaybookRun[] }>('/v1/playbook-runs?limit=20', signal),
    api.get<Toil>('/v1/playbook-toil', signal),
    api.get<{ promotions: Promotion[] }>('/v1/playbook-promotions', signal),
  ]);
  return { playbooks: playbooks.playbooks, runs: runs.runs, toil, promotions: promotions.promotions };
}

export async function loadChecklist(api: ApiClient, signal?: AbortSignal): Promise<ChecklistStep[]> {
  return (await api.get<{ steps: ChecklistStep[] }>('/v1/playbook-checklist', signal)).steps;
}

export const minutes = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : `${Math.round(ms / 60_000)} min`);
