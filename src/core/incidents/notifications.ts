/**
 * Notifications: generic webhooks declared in the incidents settings file, told about an
 * incident's declaration, severity changes, role changes and resolution. The body is JSON; a
 * restricted incident sends only its id and `"restricted": true` to a webhook not marked
 * `restricted: true`. URLs are held to `notifications.allowHosts` (loopback only when none is
 * declared) by the same check as playbooks' requests, metadata addresses refused whatever the
 * file says. Pure: signing and sending happen at the edge (app/incidents/notify.ts).
 */
import { LOOPBACK_HOSTS } from '../playbooks/safety.ts';

export const NOTIFY_EVENTS = ['declared', 'severity', 'role', 'resolved'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export interface Webhook {
  name: string;
  url: string;
  /** The environment variable of the server that holds the HMAC key. */
  secretEnv: string;
  on: NotifyEvent[];
  /** Whether it may receive the details of restricted incidents. */
  restricted: boolean;
}

export interface NotificationSettings {
  allowHosts: string[];
  webhooks: Webhook[];
}

export const DEFAULT_NOTIFICATIONS: NotificationSettings = { allowHosts: [...LOOPBACK_HOSTS], webhooks: [] };

/** The notification an entry of this kind and data is, if any. */
export function notifyEventOf(kind: string, data: Record<string, unknown>): NotifyEvent | undefined {
  if (kind === 'incident.declared') return 'declared';
  if (kind === 'incident.severity.changed') return 'severity';
  if (kind === 'incident.role.assigned') return 'role';
  if (kind === 'incident.status.changed' && data.to === 'resolved') return 'resolved';
  return undefined;
}

export interface NotifyIncident {
  id: number;
  title: string;
  severity: string;
  priority: string;
  status: string;
  restricted: boolean;
  impactStartedAt: string | null;
  declaredAt: string;
  resolvedAt: string | null;
}

/** The JSON body for one webhook: the details, or only the id of a restricted incident. */
export function notificationBody(
  hook: Pick<Webhook, 'restricted'>,
  event: NotifyEvent,
  incident: NotifyIncident,
  entry: { seq: number; time: string; kind: string; data: Record<string, unknown> },
): string {
  if (incident.restricted && !hook.restricted)
    return JSON.stringify({ event, incident: { id: incident.id, restricted: true }, time: entry.time });
  return JSON.stringify({ event, incident, entry: { seq: entry.seq, kind: entry.kind, data: entry.data }, time: entry.time });
}

/** When to try again after `attempts` failures: 10 s doubling, at most an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/** After this many failed attempts a notification is given up (state `failed`). */
export const MAX_ATTEMPTS = 12;
