/**
 * Any JSON payload, posted under a source name whose mapping is declared in the configuration
 * (signals.webhooks.<source>), made into one signal by that mapping.
 */
import { invalid, notFound } from '../../errors.ts';
import { mapWebhook, type WebhookMapping } from '../webhook-mapping.ts';
import { defineFormat, isJsonMediaType, jsonBody, type FormatContext } from './format.ts';

export const webhook = defineFormat({
  name: 'webhook',
  mediaTypes: ['application/json'],
  arrival: {
    kind: 'http',
    url: '/v1/signals/webhook/:source',
    summary: 'Any JSON payload, made into a signal by the mapping declared in config under signals.webhooks.<source>',
    accepts: { test: isJsonMediaType, otherwise: 'send the webhook payload as application/json' },
    errors: [404, 413, 415, 503],
  },
  checkSource(source, ctx) {
    mappingOf(source, ctx);
  },
  parse({ bytes }, ctx) {
    const mapping = mappingOf(ctx.source, ctx);
    const parsed = mapWebhook(jsonBody(bytes), mapping, { receivedAt: ctx.receivedAt });
    if (!parsed.ok) throw invalid(`payload does not fit the mapping of source "${ctx.source}": ${parsed.reason}`, parsed.issues);
    return [parsed.signal];
  },
});

function mappingOf(source: string, ctx: Pick<FormatContext, 'webhooks'>): WebhookMapping {
  const webhooks = ctx.webhooks ?? {};
  const mapping = Object.hasOwn(webhooks, source) ? webhooks[source] : undefined;
  if (!mapping) {
    throw notFound(
      `no webhook source "${source}" is declared; declare its mapping in the config file under signals.webhooks.${source} (see docs/signals.md) and restart`,
    );
  }
  return mapping;
}
