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
