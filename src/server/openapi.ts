/** The OpenAPI 3.1 document, generated from the same route declarations that validate requests. */
import { z, type ZodType } from 'zod';
import type { AnyRoute } from './route.ts';

const ErrorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'stable machine code' },
    message: { type: 'string', description: 'what went wrong and what to fix' },
    details: {},
  },
};

/** The document's outline, as GET /v1/openapi.json declares its response. */
export const OpenApiDocument = z.object({
  openapi: z.literal('3.1.0'),
  info: z.object({ title: z.string(), version: z.string(), description: z.string() }),
  components: z.record(z.string(), z.unknown()),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())).describe('by path, then by lower-case method'),
});

const json = (s: ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });

export function openApiDocument(routes: readonly AnyRoute[], version: string): z.output<typeof OpenApiDocument> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['query', r.query],
      ['path', r.params],
    ] as const) {
      if (!schema) continue;
      const js = json(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const ok = String(r.status ?? 200);
    const responses: Record<string, unknown> = {
      [ok]: {
        description: 'success',
        content: r.produces
          ? { [r.produces]: { schema: { type: 'string' } } }
          : r.response
            ? { 'application/json': { schema: json(r.response, 'output') } }
            : undefined,
      },
    };
    const errors = new Set([
      ...(r.errors ?? []),
      ...(r.body || r.query || r.params ? [400] : []),
      ...(r.auth === 'public' ? [] : [401, 403]),
    ]);
    for (const code of [...errors].sort()) {
      responses[String(code)] = {
        description: 'error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth === 'public' ? { security: [] } : { 'x-bulwark-permission': r.auth.permission }),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: !r.body.safeParse(undefined).success,
              content: { 'application/json': { schema: json(r.body, 'input') } },
            },
          }
        : {}),
      ...(r.rawBody ? { requestBody: { required: true, content: Object.fromEntries(r.rawBody.map((m) => [m, { schema: {} }])) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Bulwark API', version, description: 'Every route but the health checks needs Authorization: Bearer <token>.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: ErrorSchema } },
    security: [{ bearer: [] }],
    paths,
  };
}
