/**
 * The JSON body parser of every route that takes a JSON body: Fastify's own, replaced by one
 * that bounds what a body may hold (INPUT_LIMITS.json: depth, values, storable text) before any
 * route, schema or recursive step sees it. The depth is checked on the text before it is
 * parsed, so a body nested 100,000 levels deep costs one linear scan and answers 400.
 *
 * It keeps what Fastify's parser did: the body limit (bodyLimit, 413), an empty body refused,
 * a leading byte order mark ignored, a `__proto__` key refused. And it refuses bytes that are not
 * UTF-8, which Fastify's parser would have read as U+FFFD.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid } from '../core/errors.ts';
import { readJson, refusalError } from '../core/input/bounded-json.ts';
import { INPUT_LIMITS } from '../core/input/limits.ts';

// fatal: invalid UTF-8 throws instead of becoming U+FFFD; a leading BOM is dropped (ignoreBOM false).
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parse a JSON request body within the limits, or throw the DomainError that answers it. */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) throw invalid('the JSON body is empty; send a JSON object');
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw invalid('the body is not valid UTF-8; send JSON as UTF-8');
  }
  const r = readJson(text, INPUT_LIMITS.json, { refuseProtoKeys: true });
  if (!r.ok) throw refusalError(r, 'the body');
  return r.value;
}

/** Replace the default `application/json` parser of `app` (and of the plugins registered in it). */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req: FastifyRequest, body: Buffer, done) => {
    let value: unknown;
    try {
      value = parseJsonBody(body);
    } catch (e) {
      done(e as Error);
      return;
    }
    done(null, value);
  });
}
