import type { z } from "zod";
import type { ApiPrincipal, ApiRole } from "../auth/keys";

/** Who may call a route: anyone (`"public"`), or keys with one of the listed roles. */
export type RouteAccess = "public" | readonly ApiRole[];

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Set for authenticated routes (and for public routes called with a valid key). */
  principal: ApiPrincipal | undefined;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/**
 * One route: its schemas drive both request validation and the OpenAPI document, so the two
 * cannot drift. `path` is in OpenAPI form relative to `/v1` (`/accounts/{id}`).
 */
export interface RouteDef<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: "get" | "post";
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: RouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  /** Instead of a JSON `body`: the raw request bytes (a Buffer) of one of these content types. */
  rawBody?: readonly string[];
  responses: Record<number, RouteResponseSpec>;
  handler(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult> | RouteResult;
}

/** Identity with inference: `defineRoute({ … })` types the handler's context from the schemas. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  def: RouteDef<P, Q, B>,
): RouteDef {
  return def as unknown as RouteDef;
}

/** `/accounts/{id}` → `/accounts/:id` */
export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}
