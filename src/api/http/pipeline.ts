import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { z } from "zod";
import type { ApiKeyStore, ApiPrincipal } from "../auth/keys";
import {
  ForbiddenError,
  RateLimitedError,
  RequestValidationError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  type ValidationIssue,
} from "../errors";
import type { RateLimiter } from "./rate-limit";
import type { RouteDef } from "./route";

export interface PipelineOptions {
  auth: ApiKeyStore;
  rateLimiter?: RateLimiter;
  bodyLimitBytes: number;
}

/** Locals the pipeline leaves on `res.locals` for logging and metrics. */
export interface ApiLocals {
  route?: string;
  principal?: ApiPrincipal;
}

function bearerOf(h: string | undefined): string | undefined {
  if (h === undefined) return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,256})$/.exec(h);
  if (!m) throw new UnauthenticatedError("Authorization header must be `Bearer <key>`");
  return m[1];
}

function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    message: i.message,
  }));
}

/**
 * What a route accepts where it declares no schema: nothing. Path parameters and query strings must
 * then be empty, and a body, if one is sent at all, must be `{}` (so `{"x":1}` or
 * `{"status":"frozen"}` sent to `…/unfreeze` is a 400, not silently ignored).
 */
export const NOTHING = z.strictObject({});

export function parse<T>(
  schema: z.ZodType | undefined,
  value: unknown,
  where: "params" | "query" | "body",
): T {
  if (!schema && where === "body" && value === undefined) return undefined as T;
  const r = (schema ?? NOTHING).safeParse(value);
  if (!r.success) throw new RequestValidationError(where, issuesOf(r.error));
  return r.data as T;
}

/**
 * Rate-limits by client address before authenticating, then authenticates (a key, when given, must
 * be valid even on public routes), authorises the role and takes a token of the key's own bucket.
 * Anonymous calls and failed authentications spend the address's tokens, so guessing keys from
 * one address is throttled like any other anonymous traffic. Returns the caller's principal, if any.
 */
export async function admit(
  route: RouteDef,
  authorization: string | undefined,
  ip: string | undefined,
  opts: PipelineOptions,
): Promise<ApiPrincipal | undefined> {
  const limiter = opts.rateLimiter;
  const address = `ip:${ip ?? "?"}`;
  if (limiter) {
    const wait = limiter.peek(address);
    if (wait > 0) throw new RateLimitedError(wait);
  }
  const spendAddress = async () => {
    const wait = limiter ? await limiter.take(address) : 0;
    if (wait > 0) throw new RateLimitedError(wait);
  };
  let key: string | undefined;
  try {
    key = bearerOf(authorization);
  } catch (e) {
    await spendAddress();
    throw e;
  }
  let principal: ApiPrincipal | undefined;
  if (key !== undefined) {
    principal = await opts.auth.authenticate(key);
    if (!principal) {
      await spendAddress();
      throw new UnauthenticatedError("unknown or revoked API key");
    }
  }
  if (route.access !== "public") {
    if (!principal) {
      await spendAddress();
      throw new UnauthenticatedError();
    }
    if (!route.access.includes(principal.role))
      throw new ForbiddenError(
        `role ${principal.role} may not call ${route.method.toUpperCase()} /v1${route.path}`,
        {
          details: `allowed roles: ${route.access.join(", ")}`,
        },
      );
  }
  if (limiter) {
    const wait = principal ? await limiter.take(`key:${principal.keyId}`) : 0;
    if (wait > 0) throw new RateLimitedError(wait);
    if (!principal) await spendAddress();
  }
  return principal;
}

/** Whether the request carries a body (a non-zero Content-Length or a chunked one). */
export function sendsBody(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * The handlers for one route, in order: authenticate → authorise → rate-limit → check content
 * type → parse JSON → validate params/query/body → run → send JSON. Any throw goes to the app's
 * error handler, so every failure has the one error shape.
 */
export function routeHandlers(route: RouteDef, opts: PipelineOptions): RequestHandler[] {
  const handlers: RequestHandler[] = [];
  handlers.push(async (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as ApiLocals;
    locals.route = route.path;
    const principal = await admit(route, req.headers.authorization, req.ip, opts);
    if (principal) locals.principal = principal;
    if (!route.rawBody && (route.body || sendsBody(req))) {
      const type = req.headers["content-type"];
      if (!req.is("application/json")) throw new UnsupportedMediaTypeError(type ?? "no content type");
    }
    if (route.rawBody) {
      const type = req.headers["content-type"];
      if (!req.is([...route.rawBody])) throw new UnsupportedMediaTypeError(type ?? "no content type");
    }
    next();
  });
  // Every route parses its body (an undeclared body must be empty: strict schemas refuse anything else).
  if (route.rawBody) handlers.push(express.raw({ type: () => true, limit: opts.bodyLimitBytes }));
  else handlers.push(express.json({ limit: opts.bodyLimitBytes, strict: false }));
  handlers.push(async (req: Request, res: Response) => {
    if (route.body && req.body === undefined)
      throw new RequestValidationError("body", [{ path: [], message: "a JSON body is required" }]);
    const result = await route.handler({
      params: parse(route.params, { ...req.params }, "params"),
      query: parse(route.query, { ...(req.query as object) }, "query"),
      body: route.rawBody
        ? Buffer.isBuffer(req.body)
          ? req.body
          : Buffer.alloc(0)
        : parse(route.body, req.body, "body"),
      principal: (res.locals as ApiLocals).principal,
    });
    if (result.headers) res.set(result.headers);
    res.status(result.status ?? 200).json(result.body);
  });
  return handlers;
}
