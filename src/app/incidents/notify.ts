/**
 * Delivering notifications from the outbox: each pending item due now is signed and sent to its
 * webhook as declared in the settings in force (a webhook removed since gives the item up), its
 * URL checked again against `notifications.allowHosts`. A failure (no answer, an answer other
 * than 2xx, a missing key) is retried with backoff; after MAX_ATTEMPTS it is given up. Settling
 * an attempt is a compare and set, so two senders never both record one.
 *
 * The signature: `x-bulwark-signature: t=UNIX_SECONDS,v1=HEX`, where HEX is
 * HMAC-SHA256(key, `${t}.${body}`) over the exact bytes of the body.
 */
import { createHmac } from 'node:crypto';
import { MAX_ATTEMPTS, retryDelayMs } from '../../core/incidents/notifications.ts';
import { urlRefusal } from '../../core/playbooks/safety.ts';
import type { OutboxItem } from '../../store/incidents/port.ts';
import type { HttpTransport } from '../playbooks/transport.ts';
import { iso, type AppDeps } from '../deps.ts';
import { settingsIn } from './record.ts';

export const SIGNATURE_HEADER = 'x-bulwark-signature';

/** The signature header's value for `body` at `unixSeconds`. */
export function signNotification(key: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', key).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

export interface DeliverOptions {
  transport: HttpTransport;
  /** Where the webhooks' keys are read (the server's environment). */
  env: Record<string, string | undefined>;
  batch?: number;
  timeoutMs?: number;
}

export interface DeliverResult {
  delivered: number[];
  retrying: number[];
  failed: number[];
}

export async function deliverNotifications(deps: Pick<AppDeps, 'store' | 'clock'>, o: DeliverOptions): Promise<DeliverResult> {
  const now = iso(deps.clock);
  const out: DeliverResult = { delivered: [], retrying: [], failed: [] };
  const due = await deps.store.incidents.dueNotifications(now, o.batch ?? 50);
  if (due.length === 0) return out;
  const { notifications } = await settingsIn(deps.store);
  for (const item of due) {
    const hook = notifications.webhooks.find((h) => h.name === item.webhook);
    let error: string | undefined;
    let final = false;
    if (!hook) {
      error = `webhook ${item.webhook} is no longer in the incidents settings`;
      final = true;
    } else {
      const refused = urlRefusal(hook.url, notifications.allowHosts);
      const key = o.env[hook.secretEnv];
      if (refused) error = refused.replace(/the playbook's safety\.allowHosts/, 'notifications.allowHosts');
      else if (!key) error = `the environment variable ${hook.secretEnv} (the webhook's key) is not set on the server`;
      else {
        const t = Math.floor(deps.clock.now().getTime() / 1000);
        const r = await o.transport.send(
          {
            method: 'POST',
            url: hook.url,
            headers: {
              [SIGNATURE_HEADER]: signNotification(key, t, item.body),
              'x-bulwark-event': item.event,
              'x-bulwark-delivery': String(item.id),
            },
            // The transport sends JSON.stringify of this, which gives back the signed bytes exactly.
            body: JSON.parse(item.body) as unknown,
          },
          o.timeoutMs ?? 10_000,
        );
        if (!r.ok) error = r.error;
        else if (r.status < 200 || r.status > 299) error = `${hook.url} answered ${r.status}`;
      }
    }
    await settle(deps, item, error, final, out);
  }
  return out;
}

async function settle(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  item: OutboxItem,
  error: string | undefined,
  final: boolean,
  out: DeliverResult,
): Promise<void> {
  const at = iso(deps.clock);
  const attempts = item.attempts + 1;
  if (error === undefined) {
    if (
      await deps.store.incidents.settleNotification(item.id, item.attempts, {
        state: 'delivered',
        attempts,
        nextAttemptAt: at,
        deliveredAt: at,
        lastError: null,
      })
    )
      out.delivered.push(item.id);
    return;
  }
  const givesUp = final || attempts >= MAX_ATTEMPTS;
  const next = new Date(deps.clock.now().getTime() + retryDelayMs(attempts)).toISOString();
  if (
    await deps.store.incidents.settleNotification(item.id, item.attempts, {
      state: givesUp ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: givesUp ? at : next,
      deliveredAt: null,
      lastError: error.slice(0, 1000),
    })
  )
    (givesUp ? out.failed : out.retrying).push(item.id);
}
