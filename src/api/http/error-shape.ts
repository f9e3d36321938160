import { CustodyError, InvalidArgumentError, InvariantError } from "../../errors";
import { SegregationViolationError } from "../../ledger/errors";
import {
  ApiError,
  MalformedJsonError,
  NotAnchoredYetError,
  NotInLogYetError,
  PayloadTooLargeError,
  RateLimitedError,
  RequestValidationError,
} from "../errors";

/**
 * The one error body of the API:
 *
 *   { "error": { "code": "STABLE_CODE", "message": "…", "details"?: "…", "issues"?: [...], … } }
 *
 * `code` is stable (clients branch on it); `message` and `details` are for people.
 */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: string;
    issues?: { path: (string | number)[]; message: string }[];
    [extra: string]: unknown;
  };
}

/**
 * HTTP status per stable code of the lower layers. Unlisted: InvalidArgumentError → 400;
 * `…_NOT_FOUND` / `UNKNOWN_…` → 404; any other CustodyError (a valid request that a ledger rule
 * refuses) → 422; InvariantError and anything unknown → 500.
 */
const STATUS_BY_CODE: Record<string, number> = {
  // The request conflicts with what already exists.
  IDEMPOTENCY_CONFLICT: 409,
  ESCROW_ID_CONFLICT: 409,
  CHAIN_EVENT_CONFLICT: 409,
  HOLD_NOT_PENDING: 409,
  INVALID_STATUS_TRANSITION: 409,
  ACCOUNT_NOT_EMPTY: 409,
  ESCROW_HOLD_REQUIRES_CHAIN_DECISION: 409,
  STATEMENT_CONFLICT: 409,
  BREAK_NOT_RESOLVABLE: 409,
  STATEMENT_INCOMPLETE: 409,
  // Risk review and dual control (src/risk).
  INVALID_ALERT_TRANSITION: 409,
  APPROVAL_NOT_PENDING: 409,
  APPROVAL_EXPIRED: 409,
  MAKER_IS_CHECKER: 403,
  DUAL_CONTROL_REQUIRED: 403,
  // Proof requests out of range are the caller's fault.
  PROOF_INDEX_OUT_OF_RANGE: 400,
  PROOF_INVALID_INPUT: 400,
};

/** The HTTP status an error maps to. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  if (err instanceof InvariantError) return 500;
  if (err instanceof CustodyError) {
    const mapped = STATUS_BY_CODE[err.code];
    if (mapped) return mapped;
    if (err instanceof InvalidArgumentError) return 400;
    if (/NOT_FOUND$/.test(err.code) || /^UNKNOWN_/.test(err.code)) return 404;
    return 422;
  }
  return 500;
}

/** Turns errors thrown by express' own body parser into the project's errors. */
export function fromBodyParserError(err: unknown, limitBytes: number): CustodyError | undefined {
  if (typeof err !== "object" || err === null || err instanceof CustodyError) return undefined;
  const type = (err as { type?: unknown }).type;
  const message = (err as { message?: unknown }).message;
  const details = typeof message === "string" ? message : undefined;
  if (type === "entity.parse.failed") return new MalformedJsonError(details);
  if (type === "entity.too.large") return new PayloadTooLargeError(limitBytes);
  if (type === "encoding.unsupported" || type === "charset.unsupported")
    return new InvalidArgumentError("unsupported body encoding or charset", {
      details,
    });
  if (type === "request.aborted" || type === "request.size.invalid" || type === "stream.encoding.set")
    return new InvalidArgumentError("request body could not be read", { details });
  // Other client errors raised inside express (e.g. a path parameter that is not valid URI encoding).
  const status = (err as { status?: unknown }).status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    if (details?.startsWith("Failed to decode param"))
      return new RequestValidationError("params", [{ path: [], message: "is not valid URI encoding" }]);
    return new InvalidArgumentError("malformed request", { details });
  }
  return undefined;
}

/** The JSON body for an error; never exposes internals of a 500. */
export function errorBodyOf(err: unknown, status: number): ErrorBody {
  if (status >= 500 && !(err instanceof ApiError)) {
    return {
      error: {
        code: err instanceof InvariantError ? err.code : "INTERNAL",
        message: "internal error",
      },
    };
  }
  const e = err as CustodyError;
  const body: ErrorBody = { error: { code: e.code, message: e.shortMessage } };
  if (e.details) body.error.details = e.details;
  if (err instanceof RequestValidationError) body.error.issues = err.issues;
  if (err instanceof RateLimitedError || err instanceof NotInLogYetError)
    body.error.retryAfterSeconds = err.retryAfterSeconds;
  if (err instanceof SegregationViolationError && err.transferId !== undefined) {
    body.error.transferId = err.transferId;
    body.error.batchIndex = err.batchIndex;
  }
  if (err instanceof NotAnchoredYetError) {
    body.error.leafIndex = err.leafIndex;
    body.error.anchoredTreeSize = err.anchoredTreeSize;
    if (err.lagEntries !== undefined) body.error.lagEntries = err.lagEntries;
    if (err.lagSeconds !== undefined) body.error.lagSeconds = err.lagSeconds;
    if (err.retryAfterSeconds !== undefined) body.error.retryAfterSeconds = err.retryAfterSeconds;
  }
  return body;
}
