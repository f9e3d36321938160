import { CustodyError, InvalidArgumentError } from "../errors";

/**
 * Errors raised by the HTTP layer itself. Each carries the HTTP status it maps to; errors from the
 * lower layers are mapped by `httpStatusOf` (src/api/http/error-shape.ts).
 */
export abstract class ApiError extends CustodyError {
  abstract readonly status: number;
}

/** No credentials, or credentials that match no live key (HTTP 401). */
export class UnauthenticatedError extends ApiError {
  override name = "UnauthenticatedError";
  readonly status = 401;
  constructor(message = "a valid API key is required (Authorization: Bearer <key>)") {
    super("UNAUTHENTICATED", message);
  }
}

/** The key is valid but its role may not use this route (HTTP 403). */
export class ForbiddenError extends ApiError {
  override name = "ForbiddenError";
  readonly status = 403;
  constructor(message: string, opts: { details?: string } = {}) {
    super("FORBIDDEN", message, opts);
  }
}

/**
 * The resource does not exist, or exists outside the caller's scope: an account holder is told
 * "not found" for another customer's data so that existence is not revealed either (HTTP 404).
 */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
  readonly status = 404;
  constructor(message: string, opts: { details?: string } = {}) {
    super("NOT_FOUND", message, opts);
  }
}

/** The body is not valid JSON (HTTP 400). */
export class MalformedJsonError extends ApiError {
  override name = "MalformedJsonError";
  readonly status = 400;
  constructor(details?: string) {
    super("MALFORMED_JSON", "request body is not valid JSON", { details });
  }
}

/** One validation issue, with the path of the offending field. */
export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** The path, query or body does not match the route's schema (HTTP 400). */
export class RequestValidationError extends ApiError {
  override name = "RequestValidationError";
  readonly status = 400;
  readonly issues: ValidationIssue[];
  constructor(where: "params" | "query" | "body", issues: ValidationIssue[]) {
    super("INVALID_REQUEST", `request ${where} does not match the schema`, {
      details: issues.map((i) => `${[where, ...i.path].join(".")}: ${i.message}`).join("; "),
    });
    this.issues = issues;
  }
}

/** A body was sent with a content type other than application/json (HTTP 415). */
export class UnsupportedMediaTypeError extends ApiError {
  override name = "UnsupportedMediaTypeError";
  readonly status = 415;
  constructor(found: string) {
    super("UNSUPPORTED_MEDIA_TYPE", "request body must be application/json", { details: `got ${found}` });
  }
}

/** The body exceeds the configured limit (HTTP 413). */
export class PayloadTooLargeError extends ApiError {
  override name = "PayloadTooLargeError";
  readonly status = 413;
  constructor(limitBytes: number) {
    super("PAYLOAD_TOO_LARGE", `request body exceeds ${limitBytes} bytes`);
  }
}

/** The caller exceeded its request budget (HTTP 429); `retryAfterSeconds` goes into Retry-After. */
export class RateLimitedError extends ApiError {
  override name = "RateLimitedError";
  readonly status = 429;
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super("RATE_LIMITED", "too many requests for this key", {
      details: `retry after ${retryAfterSeconds} s`,
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** No route matches the method and path (HTTP 404). */
export class RouteNotFoundError extends ApiError {
  override name = "RouteNotFoundError";
  readonly status = 404;
  constructor(method: string, path: string) {
    super("ROUTE_NOT_FOUND", `no route for ${method} ${path}`);
  }
}

/**
 * The entry is in the ledger but no anchored head covers it yet (HTTP 409). The client retries
 * after the relayer's next anchor; `lagEntries`/`lagSeconds` say how far behind the anchor is.
 */
export class NotAnchoredYetError extends ApiError {
  override name = "NotAnchoredYetError";
  readonly status = 409;
  readonly leafIndex: number;
  readonly anchoredTreeSize: number;
  readonly lagEntries?: number;
  readonly lagSeconds?: number;
  /** Set when the entry is not even in the log yet: the integrator appends it within about this long. */
  readonly retryAfterSeconds?: number;
  constructor(p: {
    leafIndex: number;
    anchoredTreeSize: number;
    lagEntries?: number;
    lagSeconds?: number;
    /** Leaves in the log, when the entry is not among them yet. */
    logSize?: number;
  }) {
    const inLog = p.logSize === undefined || p.leafIndex < p.logSize;
    super(
      "NOT_ANCHORED_YET",
      inLog
        ? `leaf ${p.leafIndex} is not covered by an anchored head yet`
        : `leaf ${p.leafIndex} is not in the log yet`,
      {
        details: inLog
          ? `latest anchored tree size is ${p.anchoredTreeSize}`
          : `the log holds ${p.logSize} leaves; latest anchored tree size is ${p.anchoredTreeSize}`,
      },
    );
    this.leafIndex = p.leafIndex;
    this.anchoredTreeSize = p.anchoredTreeSize;
    this.lagEntries = p.lagEntries;
    this.lagSeconds = p.lagSeconds;
    if (!inLog) this.retryAfterSeconds = 1;
  }
}

/**
 * The log has not integrated the leaves a request needs yet (HTTP 409): the integrator appends
 * committed events shortly after they commit; a read never appends them itself. Retry after
 * `retryAfterSeconds`.
 */
export class NotInLogYetError extends ApiError {
  override name = "NotInLogYetError";
  readonly status = 409;
  readonly retryAfterSeconds = 1;
  constructor(message: string, opts: { details?: string } = {}) {
    super("NOT_IN_LOG_YET", message, opts);
  }
}

/** `?headIndex=` names a head that does not cover the entry, or that does not exist (HTTP 409/404). */
export class HeadDoesNotCoverEntryError extends InvalidArgumentError {
  override name = "HeadDoesNotCoverEntryError";
  constructor(headIndex: number, treeSize: number, leafIndex: number) {
    super(`anchored head ${headIndex} (tree size ${treeSize}) does not cover leaf ${leafIndex}`, {
      details: "ask for a head whose tree size is greater than the leaf index",
    });
  }
}

/** A dependency the route needs was not configured on this instance (HTTP 501). */
export class NotConfiguredError extends ApiError {
  override name = "NotConfiguredError";
  readonly status = 501;
  constructor(what: string) {
    super("NOT_CONFIGURED", `${what} is not configured on this server`);
  }
}

/** A dependency (database, log, chain, relayer) did not answer a readiness probe in time (HTTP 503). */
export class DependencyTimeoutError extends ApiError {
  override name = "DependencyTimeoutError";
  readonly status = 503;
  constructor(what: string, ms: number) {
    super("DEPENDENCY_TIMEOUT", `${what} did not answer within ${ms} ms`);
  }
}
