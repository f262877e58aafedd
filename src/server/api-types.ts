/**
 * The API's shapes as types, derived from the response schemas the routes declare: the same
 * schemas that type what each handler returns (route.ts) and describe it in the OpenAPI
 * document. The dashboard imports these (web/src/types.ts) instead of keeping copies.
 *
 * Types only: this file imports nothing at run time, so importing it brings no server code
 * into the dashboard's bundle. Response schemas have no transforms or defaults, so what a
 * schema outputs is what the server sends.
 */
import type { z } from 'zod';
import type { ErrorBody } from './http-errors.ts';
import type { OpenApiDocument as OpenApiDocumentSchema } from './openapi.ts';
import type {
  DeletedView,
  ExperimentDetail as ExperimentDetailSchema,
  ExperimentItem,
  RunSummary as RunSummarySchema,
  Schedule as ScheduleSchema,
} from './routes/experiments.ts';
import type { CheckpointView, EntriesPage as EntriesPageSchema, EntryView, VerifyReport as VerifyReportSchema } from './routes/ledger.ts';
import type { RunDetail as RunDetailSchema, TimelineEvent as TimelineEventSchema } from './routes/runs.ts';
import type { Session as SessionSchema } from './routes/tokens.ts';
import type { SloItem as SloItemSchema } from './routes/slos.ts';

/** GET /v1/session */
export type Session = z.output<typeof SessionSchema>;
export type Principal = Session['principal'];

/** GET /v1/ledger/entries/{seq}, and each entry of a page */
export type LedgerEntry = z.output<typeof EntryView>;
/** GET /v1/ledger/entries */
export type EntriesPage = z.output<typeof EntriesPageSchema>;
/** GET /v1/ledger/checkpoint */
export type Checkpoint = z.output<typeof CheckpointView>;
/** GET /v1/ledger/verify */
export type VerifyReport = z.output<typeof VerifyReportSchema>;

/** A run as lists show it (GET /v1/runs, an experiment's history). */
export type RunSummary = z.output<typeof RunSummarySchema>;
/** One of the eight outcomes of a finished run (core/experiments/outcome.ts). */
export type Outcome = NonNullable<RunSummary['outcome']>;
export type RunState = RunSummary['state'];
/** GET /v1/runs/{id} */
export type RunDetail = z.output<typeof RunDetailSchema>;
export type TimelineEvent = z.output<typeof TimelineEventSchema>;
export type TimelineKind = TimelineEvent['kind'];

export type Schedule = NonNullable<z.output<typeof ScheduleSchema>>;
/** Each item of GET /v1/experiments */
export type Experiment = z.output<typeof ExperimentItem>;
/** GET /v1/experiments/{name} */
export type ExperimentDetail = z.output<typeof ExperimentDetailSchema>;
/** DELETE /v1/experiments/{name} */
export type DeletedExperiment = z.output<typeof DeletedView>;

/** GET /v1/openapi.json */
export type OpenApiDocument = z.output<typeof OpenApiDocumentSchema>;

/** Every error answer: a stable code, a message saying what to fix, and sometimes details. */
export type { ErrorBody };

/** GET /v1/slos: one SLO with its status (budget, burn rates, alerts) and its budget policy. */
export type Slo = z.output<typeof SloItemSchema>;
