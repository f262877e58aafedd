/**
 * The one place where failures become HTTP: DomainError codes, validation errors and the
 * framework's own errors all answer `{ error, message, details? }` with a stable code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
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
    return { status: err.statusCode, body: { error: CLIENT_ERROR_CODES[err.statusCode] ?? 'invalid', message: err.message } };
  }
  return undefined;
}

/** Stable codes for the 4xx answers the framework and Node's HTTP parser give on their own. */
const CLIENT_ERROR_CODES: Record<number, string> = {
  400: 'invalid',
  404: 'not_found',
  408: 'timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

/**
 * Errors raised before a request reaches routing (a URL that cannot be decoded, a failing route
 * constraint): the same shape as every other answer.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  // The request-id hook has not run for these: say the id here.
  void reply.header('x-request-id', req.id);
  const bad = err.code === 'FST_ERR_BAD_URL';
  const { status, body } = bad
    ? { status: 400, body: { error: 'invalid', message: 'the URL cannot be decoded (malformed percent-encoding); encode it as UTF-8' } }
    : toHttp(err);
  void reply.code(status).send(body);
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (a malformed request line or
 * header, headers too large, a request that took too long): answered in the API's shape on the
 * socket, then closed, as Node would.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
  const message =
    status === 431
      ? 'the request headers are larger than the server accepts; send fewer or smaller headers'
      : status === 408
        ? 'the request was not received in time; send it again'
        : status === 414
          ? 'the URL is longer than the server accepts'
          : 'the request is not well-formed HTTP/1.1';
  const body = JSON.stringify({ error: CLIENT_ERROR_CODES[status], message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

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
