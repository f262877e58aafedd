/** Prometheus Alertmanager's webhook payload (version 4), posted to its route: one signal per alert. */
import { invalid } from '../../errors.ts';
import { ALERTMANAGER_SOURCE, parseAlertmanager } from '../alertmanager.ts';
import { defineFormat, isJsonMediaType, jsonBody } from './format.ts';

export const alertmanager = defineFormat({
  name: 'alertmanager',
  mediaTypes: ['application/json'],
  arrival: {
    kind: 'http',
    url: '/v1/signals/alertmanager',
    summary: "Alertmanager's webhook (payload version 4): one signal per alert; resends are acknowledged as duplicates",
    defaultSource: ALERTMANAGER_SOURCE,
    accepts: { test: isJsonMediaType, otherwise: 'send the Alertmanager payload as application/json' },
    errors: [404, 413, 415, 503],
  },
  parse({ bytes }, ctx) {
    const parsed = parseAlertmanager(jsonBody(bytes), { receivedAt: ctx.receivedAt, source: ctx.source });
    if (!parsed.ok) throw invalid(parsed.reason, parsed.issues);
    return parsed.signals;
  },
});
