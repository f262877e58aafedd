/**
 * One CloudEvent 1.0 over HTTP, structured mode (the whole event as application/cloudevents+json)
 * or binary mode (attributes as `ce-` headers, the body is the event's data in any media type).
 */
import { invalid } from '../../errors.ts';
import { CLOUDEVENTS_SOURCE, STRUCTURED_MEDIA_TYPE, parseCloudEvent } from '../cloudevents.ts';
import { defineFormat, evidenceMediaType, mediaTypeName, type Evidence, type FormatInput } from './format.ts';

const URL = '/v1/signals/cloudevents';

export const cloudevents = defineFormat({
  name: 'cloudevents',
  mediaTypes: [STRUCTURED_MEDIA_TYPE, 'application/json', '*/*'],
  arrival: {
    kind: 'http',
    url: URL,
    summary: 'One CloudEvent 1.0, structured (application/cloudevents+json) or binary mode (ce-* headers); idempotent by source + id',
    defaultSource: CLOUDEVENTS_SOURCE,
    errors: [413, 503],
  },
  parse({ bytes, headers }, ctx) {
    const parsed = parseCloudEvent({ headers: headers ?? {}, body: bytes }, { receivedAt: ctx.receivedAt, source: ctx.source });
    if (!parsed.ok) throw invalid(parsed.reason, parsed.issues);
    return [parsed.signal];
  },
  evidence(input) {
    const contentType = input.headers?.['content-type'];
    const structured = typeof contentType === 'string' && mediaTypeName(contentType) === STRUCTURED_MEDIA_TYPE;
    return structured
      ? { bytes: input.bytes, mediaType: evidenceMediaType(contentType, STRUCTURED_MEDIA_TYPE) }
      : binaryModeEvidence(input);
  },
});

/**
 * In binary mode the event's attributes travel as headers, so the evidence is the message
 * itself (RFC 9112 §10.1 application/http): the request line, the `ce-*` and Content-Type
 * headers as received (never Authorization or cookies), and the body's bytes.
 */
function binaryModeEvidence({ bytes, rawHeaders = [] }: FormatInput): Evidence {
  const lines = [`POST ${URL} HTTP/1.1`];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name.startsWith('ce-') || name === 'content-type') lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
  }
  return {
    bytes: Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]),
    mediaType: 'application/http; msgtype=request',
  };
}
