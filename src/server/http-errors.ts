/**
 * The one place where failures become HTTP: DomainError codes, validation errors and the
 * framework's own errors all answer `{ error, message, details? }` with a stable code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { DomainError, type ErrorCode } from '../core/errors.ts';

export const STATUS: Record<ErrorCode, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  overloaded: 503,
  unavailable: 503,
  internal: 500,
};

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

export function zodDetails(e: ZodError) {
  return e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function fromFramework(err: FastifyError): { status: number; body: ErrorBody } | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: { error: 'payload_too_large', message: 'the request body is larger than the server accepts; send less' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: 'unsupported_media_type', message: 'send the body as application/json' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: 'invalid', message: 'the JSON body is empty; send a JSON object' } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: 'invalid', message: `the body is not valid JSON: ${err.message}` } };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: { error: err.statusCode === 404 ? 'not_found' : 'invalid', message: err.message } };
  }
  return undefined;
}

export function toHttp(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof DomainError) {
    return {
      status: STATUS[err.code],
      body: { error: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) },
    };
  }
  if (err instanceof ZodError)
    return { status: 400, body: { error: 'invalid', message: 'the request is not valid', details: zodDetails(err) } };
  if (err instanceof SyntaxError && 'statusCode' in err)
    return { status: 400, body: { error: 'invalid', message: `the body is not valid JSON: ${err.message}` } };
  const fw = fromFramework(err as FastifyError);
  if (fw) return fw;
  return { status: 500, body: { error: 'internal', message: 'internal error; the server log has the details under this request id' } };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toHttp(err);
  if (status >= 500) req.log.error({ err }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="bulwark"');
  if (status === 503) void reply.header('retry-after', '1');
  return reply.code(status).send(body);
}
