// Shapes of the Bulwark HTTP API as the dashboard reads them: derived from the server's response
// schemas (src/server/api-types.ts), never copied. A type-only import, erased at build time.

import type { ErrorBody, Outcome } from '../../src/server/api-types.ts';

export type {
  Checkpoint,
  DeletedExperiment,
  EntriesPage,
  Experiment,
  ExperimentDetail,
  LedgerEntry,
  Outcome,
  Principal,
  RunDetail,
  RunState,
  RunSummary,
  Schedule,
  Session,
  Slo,
  TimelineEvent,
  TimelineKind,
  VerifyReport,
} from '../../src/server/api-types.ts';

/** Fails to compile when `Missing` is not empty: a list lacks a value the server sends. */
type NoneMissing<Missing extends never> = Missing;

/** The outcomes in the order the dashboard shows them, best first. */
export const OUTCOMES = [
  'prevented',
  'detected',
  'detected-late',
  'missed',
  'not-run',
  'aborted',
  'errored',
  'rollback-failed',
] as const satisfies readonly Outcome[];
export type OutcomesListed = NoneMissing<Exclude<Outcome, (typeof OUTCOMES)[number]>>;

/** An error answer as the client takes it: Bulwark's, or a proxy's in between, which may lack a message. */
export type ApiErrorBody = Omit<ErrorBody, 'message'> & { message?: string };
