/**
 * Playbook events: versions applied (the file's digest, never the file), runs started and
 * finished, every step execution, decision and confirmation by a person, approvals asked for and
 * signals that resumed a waiting step, run controls (pause,
 * resume, cancel), and promotions of a step to `auto` (requested, approved or rejected).
 */
import { z } from 'zod';
import { event, type EventDefinition } from '../ledger/event-catalogue.ts';

const name = z.string().max(64);
const run = z.string().max(64);
const step = z.string().max(64);
const version = z.number().int();
const mode = z.enum(['manual', 'assisted', 'auto']);

export const playbookEvents: EventDefinition[] = [
  event(
    'playbook.applied',
    'a playbook file is applied as a new version (not when the same file is applied again)',
    z.strictObject({ name, version, sha256: z.string().max(64), steps: z.number().int(), modes: z.record(z.string().max(64), mode) }),
  ),
  event(
    'playbook.run.started',
    'a run starts: by a person, by a signal its trigger matches, at a minute its schedule matches, or as the child of another run (a playbook step)',
    z.strictObject({
      run,
      playbook: name,
      version,
      trigger: z.enum(['manual', 'signal', 'schedule', 'playbook']),
      signal: z.string().max(100).nullable(),
    }),
  ),
  event(
    'playbook.step.started',
    'the engine starts an attempt of an automatic (or confirmed assisted) step, before it acts',
    z.strictObject({
      run,
      step,
      index: z.number().int(),
      kind: z.string().max(20),
      mode,
      attempt: z.number().int(),
      idempotencyKey: z.string().max(200).nullable(),
    }),
  ),
  event(
    'playbook.step.waiting',
    'a manual or assisted step waits for a person (the decision to hand it over)',
    z.strictObject({ run, step, index: z.number().int(), mode, assignee: z.string().max(200).nullable() }),
  ),
  event(
    'playbook.step.confirmed',
    'a person records a manual step done or failed, or confirms or declines an assisted one',
    z.strictObject({
      run,
      step,
      index: z.number().int(),
      mode,
      outcome: z.enum(['done', 'failed', 'confirmed', 'declined']),
      notes: z.string().max(2000),
      timeSpentMs: z.number().int().nullable(),
      by: z.string().max(400),
    }),
  ),
  event(
    'playbook.step.finished',
    'a step ends: done, failed (after its last attempt), skipped (a guard did not hold), or an attempt failed and will be retried',
    z.strictObject({
      run,
      step,
      index: z.number().int(),
      mode,
      outcome: z.enum(['done', 'failed', 'skipped', 'retrying']),
      attempt: z.number().int(),
      error: z.string().max(1000).nullable(),
      retryAt: z.string().max(40).nullable(),
    }),
  ),
  event(
    'playbook.step.approval-requested',
    'an approval step asks Access for a multi-party approval (bulwark approvals) and the run waits for it',
    z.strictObject({ run, step, index: z.number().int(), approval: z.string().max(64), expiresAt: z.string().max(40) }),
  ),
  event(
    'playbook.step.signal-matched',
    'a signal matches what a waiting step waits for; the step is done and the run goes on',
    z.strictObject({ run, step, index: z.number().int(), signal: z.string().max(100) }),
  ),
  event(
    'playbook.run.finished',
    'a run ends: succeeded, failed or cancelled',
    z.strictObject({ run, playbook: name, version, outcome: z.enum(['succeeded', 'failed', 'cancelled']), reason: z.string().max(1000) }),
  ),
  event(
    'playbook.run.changed',
    'a person pauses or resumes a run',
    z.strictObject({ run, from: z.string().max(20), to: z.string().max(20), by: z.string().max(400) }),
  ),
  event(
    'playbook.promotion.requested',
    'a person asks that a step done by hand become automatic (a new version with the step in mode auto)',
    z.strictObject({
      id: z.string().max(64),
      playbook: name,
      step,
      fromVersion: version,
      from: mode,
      manualDone: z.number().int(),
      by: z.string().max(400),
    }),
  ),
  event(
    'playbook.promotion.decided',
    'a second person approves (the new version is applied in the same transaction) or rejects a promotion; never the requester',
    z.strictObject({
      id: z.string().max(64),
      playbook: name,
      step,
      decision: z.enum(['approved', 'rejected']),
      by: z.string().max(400),
      newVersion: version.nullable(),
    }),
  ),
];
