import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import type { RouteDef } from "./http/route";
import { ErrorSchema } from "./schemas/common";

/** Statuses every authenticated route may answer with, besides its own. */
const COMMON_ERRORS: Record<number, string> = {
  400: "malformed request (INVALID_REQUEST, MALFORMED_JSON)",
  429: "rate limit exceeded (RATE_LIMITED)",
};
const AUTH_ERRORS: Record<number, string> = {
  401: "missing or unknown API key (UNAUTHENTICATED)",
  403: "the key's role may not call this route (FORBIDDEN)",
};

/**
 * The OpenAPI 3.1 document of the given routes, generated from the very schemas that validate requests.
 * `extraPaths` are routes served outside `/v1` (the tlog-tiles API), given in OpenAPI form.
 */
export function buildOpenApiDocument(
  routes: readonly RouteDef[],
  opts: { serverUrl?: string; extraPaths?: readonly RouteConfig[] } = {},
) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "API key: `Authorization: Bearer <key>`",
  });
  for (const r of routes) {
    const responses: Record<string, { description: string; content?: object }> = {};
    const add = (status: number, description: string, schema: z.ZodType) => {
      responses[String(status)] = { description, content: { "application/json": { schema } } };
    };
    for (const [status, spec] of Object.entries(r.responses)) {
      if (spec.schema) add(Number(status), spec.description, spec.schema);
      else responses[status] = { description: spec.description };
    }
    const errors = { ...COMMON_ERRORS, ...(r.access === "public" ? {} : AUTH_ERRORS) };
    if (r.body) {
      errors[413] = "body too large (PAYLOAD_TOO_LARGE)";
      errors[415] = "body is not application/json (UNSUPPORTED_MEDIA_TYPE)";
    }
    for (const [status, description] of Object.entries(errors))
      if (!(status in responses)) add(Number(status), description, ErrorSchema);

    registry.registerPath({
      method: r.method,
      path: `/v1${r.path}`,
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      description: r.access === "public" ? "Public." : `Roles: ${r.access.join(", ")}.`,
      security: r.access === "public" ? [] : [{ apiKey: [] }],
      request: {
        params: r.params as z.ZodObject | undefined,
        query: r.query as z.ZodObject | undefined,
        body: r.body
          ? { required: true, content: { "application/json": { schema: r.body } } }
          : r.rawBody
            ? {
                required: true,
                content: Object.fromEntries(r.rawBody.map((t) => [t, { schema: z.string() }])),
              }
            : undefined,
      },
      responses,
    });
  }
  for (const p of opts.extraPaths ?? []) registry.registerPath(p);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Custody audit layer API",
      version: "1",
      description:
        "Custody ledger writes, balances, escrows, RFC 9162 log heads and proofs, custody-receipt-v1 and v2 receipts. " +
        "Errors share one shape: { error: { code, message, details? } } with a stable code.",
    },
    servers: opts.serverUrl ? [{ url: opts.serverUrl }] : undefined,
  });
}
