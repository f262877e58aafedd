/** Experiment events: files applied and deleted (never the file), the global stop, and every step of a run. */
import { z } from 'zod';
import { event, id, isoTime, type EventDefinition } from '../ledger/event-catalogue.ts';
import { CONTROL_FINDINGS, SOURCE_CLASSES } from './controls.ts';
import { OUTCOMES } from './outcome.ts';

const name = z.string().max(200);
const run = id;
const title = z.string().max(10_000);
const reason = z.string().max(100_000);

export const experimentEvents: EventDefinition[] = [
  event(
    'experiment.applied',
    'a file is applied (not when the same file is applied again)',
    z.strictObject({
      name,
      version: z.number().int(),
      sha256: z.string().max(64),
      title,
      techniques: z.array(z.string().max(64)),
      schedule: z.strictObject({ cron: z.string().max(200), jitterMs: z.number().int() }).nullable(),
      privileged: z.boolean(),
    }),
  ),
  event(
    'experiment.deleted',
    'an experiment is deleted',
    z.strictObject({ name, version: z.number().int(), sha256: z.string().max(64), title, by: z.string().max(400) }),
  ),
  event(
    'experiments.stop-all',
    'the global stop switch is used',
    z.strictObject({ reason, at: isoTime, server: z.string().max(400), aborted: z.array(run) }),
  ),
  event(
    'run.started',
    'a run has its slots and starts',
    z.strictObject({ run, experiment: title, techniques: z.array(z.string().max(64)), targets: z.array(z.string().max(10_000)) }),
  ),
  event(
    'run.injected',
    'each injection',
    z.strictObject({ run, activity: name, at: isoTime, ok: z.boolean(), status: z.number().int().optional(), error: reason.optional() }),
  ),
  event(
    'run.detected',
    'a signal matches an expectation',
    z.strictObject({
      run,
      detection: name,
      signal: id,
      source: name,
      by: z.enum(['run-id', 'expression']),
      receivedAt: isoTime,
      sourceTime: isoTime,
      ttdMs: z.number(),
      sourceTtdMs: z.number(),
      deadlineMs: z.number(),
      late: z.boolean(),
      class: z.enum(SOURCE_CLASSES).optional(),
    }),
  ),
  event(
    'run.rollback',
    'each rollback',
    z.strictObject({ run, rollback: name, ok: z.boolean(), reason: reason.optional(), recovery: z.literal(true).optional() }),
  ),
  event(
    'run.finished',
    'the outcome is decided',
    z.union([
      z.strictObject({
        run,
        experiment: title,
        outcome: z.enum(OUTCOMES),
        reason,
        expectationsMet: z.boolean(),
        ttdMs: z.number().nullable(),
        injections: z.number().int(),
        detections: z.number().int(),
        controls: z
          .array(
            z.strictObject({
              control: name,
              results: z.array(z.enum(['blocked', 'alerted', 'logged', 'none'])),
              findings: z.array(z.enum(CONTROL_FINDINGS)),
            }),
          )
          .optional(),
      }),
      z.strictObject({
        run,
        experiment: title,
        outcome: z.enum(OUTCOMES),
        reason,
        expectationsMet: z.literal(false),
        ttdMs: z.null(),
        recovered: z.literal(true),
      }),
    ]),
  ),
  event('run.dry-run', 'a dry run is recorded', z.strictObject({ run, experiment: title })),
];
