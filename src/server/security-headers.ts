/**
 * Headers on every answer, API and dashboard alike: the dashboard's page loads scripts, styles
 * and data from this server only and cannot be framed; nothing is sniffed, referred or cached
 * where it could hold data.
 */
import type { FastifyInstance } from 'fastify';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    void reply.headers(SECURITY_HEADERS);
    // API answers can hold data: never kept by a cache. The dashboard's files set their own.
    if (req.url.startsWith('/v1/') || req.url === '/metrics') void reply.header('cache-control', 'no-store');
  });
}
