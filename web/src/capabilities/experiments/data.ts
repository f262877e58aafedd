import { ApiError, type ApiClient } from '../../api.ts';
import type { DeletedExperiment, Experiment, ExperimentDetail, RunDetail, RunState, RunSummary } from '../../types.ts';

/** Auto-refresh intervals: the list while a run is in progress, a run's page until it is done. */
export const EXPERIMENTS_REFRESH_MS = 5_000;
export const RUN_REFRESH_MS = 2_000;

export function runHref(id: string): string {
  return `/runs/${encodeURIComponent(id)}`;
}

export function isInProgress(state: RunState): boolean {
  return state !== 'done';
}

/** Stopping makes sense before rollbacks start; once rolling back, the run is already ending. */
export function isStoppable(run: RunSummary): boolean {
  return run.state === 'pending' || run.state === 'running';
}

export async function loadExperiments(api: ApiClient, signal: AbortSignal): Promise<Experiment[]> {
  const body = await api.get<{ experiments: Experiment[] }>('/v1/experiments', signal);
  return body.experiments;
}

/** One experiment, or null when it is not there (deleted since the run, or never applied). */
export async function loadExperiment(api: ApiClient, name: string, signal: AbortSignal): Promise<ExperimentDetail | null> {
  try {
    return await api.get<ExperimentDetail>(`/v1/experiments/${encodeURIComponent(name)}`, signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function loadRun(api: ApiClient, id: string, signal: AbortSignal): Promise<RunDetail> {
  return api.get<RunDetail>(`/v1/runs/${encodeURIComponent(id)}`, signal);
}

export async function startRun(api: ApiClient, name: string, options: { dryRun?: boolean } = {}): Promise<RunSummary> {
  const body = await api.post<{ run: RunSummary }>(`/v1/experiments/${encodeURIComponent(name)}/runs`, options);
  return body.run;
}

export async function stopRun(api: ApiClient, id: string): Promise<RunSummary> {
  const body = await api.post<{ run: RunSummary }>(`/v1/runs/${encodeURIComponent(id)}/stop`);
  return body.run;
}

export async function stopAll(api: ApiClient): Promise<number> {
  const body = await api.post<{ stopped: number }>('/v1/experiments/stop-all');
  return body.stopped;
}

/** Delete an applied experiment; its runs stay readable. Answers what was deleted. */
export function deleteExperiment(api: ApiClient, name: string): Promise<DeletedExperiment> {
  return api.delete<DeletedExperiment>(`/v1/experiments/${encodeURIComponent(name)}`);
}

/** One control's result in a run, as the journal keeps it (`bulwark.controls`). */
export interface RunControlResult {
  control: string;
  expected: string[];
  blocked: boolean | null;
  alerted: boolean;
  logged: boolean;
  results: string[];
  alertedTtdMs: number | null;
  loggedTtdMs: number | null;
  findings: string[];
  details: { finding: string; detection?: string; rules?: string[] }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The per-control results of a run's journal; none for a run from before they were recorded. */
export function runControls(journal: unknown): RunControlResult[] {
  if (!isRecord(journal) || !isRecord(journal['bulwark'])) return [];
  const list = journal['bulwark']['controls'];
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is RunControlResult => isRecord(c) && typeof c['control'] === 'string' && Array.isArray(c['results']));
}
