/**
 * The one error type for failures a caller must handle. Codes are stable machine ids; the
 * message tells the caller what to fix. HTTP status mapping lives in server/, not here.
 */
export type ErrorCode =
  'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'payload_too_large' | 'overloaded' | 'unavailable' | 'internal';

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export const invalid = (message: string, details?: unknown) => new DomainError('invalid', message, details);
export const notFound = (message: string, details?: unknown) => new DomainError('not_found', message, details);
export const conflict = (message: string, details?: unknown) => new DomainError('conflict', message, details);
