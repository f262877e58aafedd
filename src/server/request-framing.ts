/**
 * What a request's framing must be before anything reads it, answered in the API's shape:
 * a Host header (HTTP/1.1 requires one; Node would otherwise answer a bare 400 itself), and a
 * body without a content coding. Bodies are parsed as sent: a gzip or br body would otherwise be
 * read as if it were JSON text, so it is refused (415) instead of being misread.
 */
import type { FastifyInstance } from 'fastify';

export function registerRequestFraming(app: FastifyInstance): void {
  // Node refuses a missing Host with an empty 400 before any hook runs; answer it here instead.
  (app.server as { requireHostHeader?: boolean }).requireHostHeader = false;
  app.addHook('onRequest', async (req, reply) => {
    if (req.raw.httpVersionMajor === 1 && req.raw.httpVersionMinor >= 1 && !req.headers.host) {
      return reply.code(400).send({ error: 'invalid', message: 'the request has no Host header, which HTTP/1.1 requires; send one' });
    }
    const coding = req.headers['content-encoding'];
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      return reply.code(415).send({
        error: 'unsupported_media_type',
        message: `the body is sent with content-encoding '${coding}', which this server does not decode; send it uncompressed`,
      });
    }
  });
}
