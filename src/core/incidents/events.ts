/**
 * Incident events. Every change of a case or an incident is one of these entries, written in the
 * same transaction as the change; an incident's timeline is the list of its entries (subject
 * `incident:ID`), so it is ordered and tamper-evident with the rest of the ledger. Evidence
 * entries hold the SHA-256 of the content, never the content.
 */
import { z } from 'zod';
import { event, id, isoTime, type EventDefinition } from '../ledger/event-catalogue.ts';
import { SEVERITIES } from '../signals/severity.ts';
import { CASE_STATES, INCIDENT_STATUSES, PRIORITIES, ROLES } from './model.ts';
import { REPORT_KINDS } from './status-report.ts';
import { TASK_STATUSES } from './tasks.ts';

const n = z.number().int().min(1);
const label = z.string().max(400);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const source = z.strictObject({ kind: z.enum(['signal', 'run']), id });
const textField = z.string().max(20_000);
const taskTitle = z.string().max(500);
const report = { incident: n, report: n, version: n, sha256 };

export const incidentEvents: EventDefinition[] = [
  event(
    'incidents.settings.applied',
    'an incidents settings file is applied',
    z.strictObject({ version: n, sha256, rules: z.array(z.string().max(64)) }),
  ),
  event(
    'case.opened',
    'a rule opens a case for a signal or a finished run',
    z.strictObject({
      case: n,
      rule: z.string().max(64),
      groupKey: z.string().max(2000),
      severity: z.enum(SEVERITIES),
      title: z.string().max(300),
      from: source,
    }),
  ),
  event(
    'case.grouped',
    'a signal or run joins an open case (same rule and group key, within the window)',
    z.strictObject({ case: n, from: source, resolved: z.boolean() }),
  ),
  event('case.acknowledged', 'someone acknowledges a case', z.strictObject({ case: n, by: label, from: z.enum(CASE_STATES) })),
  event('case.assigned', 'a case is assigned', z.strictObject({ case: n, assignee: label, from: z.enum(CASE_STATES) })),
  event(
    'case.closed',
    'a case is closed with a resolution',
    z.strictObject({ case: n, resolution: z.string().max(64), note: textField.nullable() }),
  ),
  event('case.escalated', 'a case escalates into an incident', z.strictObject({ case: n, incident: n })),
  event(
    'incident.declared',
    'an incident is declared (by hand, or from a case)',
    z.strictObject({
      incident: n,
      title: z.string().max(300),
      severity: z.string().max(16),
      priority: z.enum(PRIORITIES),
      restricted: z.boolean(),
      impactStartedAt: isoTime.nullable(),
      fromCase: n.nullable(),
    }),
  ),
  event(
    'incident.status.changed',
    "an incident's status changes",
    z.strictObject({ incident: n, from: z.enum(INCIDENT_STATUSES), to: z.enum(INCIDENT_STATUSES), note: textField.nullable() }),
  ),
  event(
    'incident.role.assigned',
    'a command role is assigned; a handoff closes the previous interval at the same instant',
    z.strictObject({
      incident: n,
      role: z.enum(ROLES),
      holder: label,
      from: isoTime,
      previous: z.strictObject({ holder: label, from: isoTime }).nullable(),
    }),
  ),
  event(
    'incident.participant.added',
    'a principal becomes a participant (who sees a restricted incident)',
    z.strictObject({ incident: n, participant: label }),
  ),
  event(
    'incident.note',
    'a note on the timeline; a correction points at the entry it corrects',
    z.strictObject({ incident: n, text: textField, corrects: z.number().int().min(0).nullable() }),
  ),
  event(
    'incident.signal.pinned',
    'a signal is pinned to an incident; its raw payload becomes evidence',
    z.strictObject({ incident: n, signal: id, evidence: sha256 }),
  ),
  event(
    'incident.evidence.added',
    'evidence is collected: its digest, size, name and where it came from (the custody starts here)',
    z.strictObject({
      incident: n,
      sha256,
      size: z.number().int().min(0),
      mediaType: z.string().max(200),
      name: z.string().max(300),
      origin: z.string().max(1000),
    }),
  ),
  event('incident.evidence.accessed', 'evidence content is read (custody)', z.strictObject({ incident: n, sha256 })),
  event(
    'incident.evidence.verified',
    "an incident's evidence is rehashed",
    z.strictObject({ incident: n, items: z.number().int().min(0), mismatches: z.array(sha256) }),
  ),
  event(
    'incident.linked',
    'SLOs the incident affected and ATT&CK techniques seen in it are linked to it (only the new links are named)',
    z.strictObject({ incident: n, slos: z.array(z.string().max(64)).max(50), techniques: z.array(z.string().max(16)).max(50) }),
  ),
  event(
    'incident.postmortem.saved',
    'a version of the postmortem document is saved: generated from the record, or edited by a person (its digest, not its text)',
    z.strictObject({ incident: n, version: n, source: z.enum(['generated', 'edited']), sha256, size: z.number().int().min(0) }),
  ),
  event(
    'incident.exported',
    'an incident is exported as one file (its format and the ledger size it was read at)',
    z.strictObject({ incident: n, format: z.enum(['json', 'markdown']), ledgerSize: z.number().int().min(0) }),
  ),
  event('incident.postmortem.generated', 'a postmortem is generated from the record', z.strictObject({ incident: n, sha256 })),
  event(
    'incident.task.added',
    'a task is added to an incident, by hand or from a recovery checklist',
    z.strictObject({
      incident: n,
      task: n,
      title: taskTitle,
      owner: label.nullable(),
      dueAt: isoTime.nullable(),
      checklist: z.string().max(64).nullable(),
    }),
  ),
  event(
    'incident.task.changed',
    "a task's status, owner, due time or title changes (only what changed is named)",
    z.strictObject({
      incident: n,
      task: n,
      from: z.enum(TASK_STATUSES),
      changes: z.strictObject({
        title: taskTitle.optional(),
        owner: label.nullable().optional(),
        dueAt: isoTime.nullable().optional(),
        status: z.enum(TASK_STATUSES).optional(),
      }),
    }),
  ),
  event(
    'incident.checklist.added',
    'a recovery checklist is instantiated from its template as tasks',
    z.strictObject({ incident: n, checklist: z.string().max(64), tasks: z.array(n) }),
  ),
  event(
    'incident.report.drafted',
    'a status report is drafted from its template, filled from the record',
    z.strictObject({ ...report, kind: z.enum(REPORT_KINDS) }),
  ),
  event('incident.report.edited', 'a draft status report is edited (a new version)', z.strictObject(report)),
  event(
    'incident.report.posted',
    'a status report is posted; its text is kept, and can no longer change',
    z.strictObject({ ...report, kind: z.enum(REPORT_KINDS), nextUpdateAt: isoTime.nullable() }),
  ),
  event(
    'incident.severity.changed',
    "an incident's severity changes",
    z.strictObject({ incident: n, from: z.string().max(16), to: z.string().max(16), note: textField.nullable() }),
  ),
  event(
    'incident.exercise.started',
    'a tabletop exercise starts: an incident in exercise mode, from a scenario file (kept as evidence)',
    z.strictObject({
      incident: n,
      title: z.string().max(300),
      scenario: sha256,
      injects: z.number().int().min(0),
      questions: z.number().int().min(0),
    }),
  ),
  event(
    'incident.exercise.inject',
    "an exercise's scripted inject is given to the team, at its offset",
    z.strictObject({ incident: n, inject: n, text: textField }),
  ),
  event(
    'incident.exercise.answered',
    "the team answers one of the exercise's questions",
    z.strictObject({ incident: n, question: z.string().max(32), text: textField }),
  ),
  event('incident.exercise.ended', 'a tabletop exercise ends; its report is generated', z.strictObject({ incident: n, report: sha256 })),
];
