/**
 * The one base error of the project. Every failure a caller acts on is a named subclass, so
 * callers branch on `instanceof` (or on the stable `code`) and never on message text.
 *
 * `shortMessage` says what happened in one line; `details` says what was expected and what was
 * found; `code` is stable and is what the API returns to clients.
 */
export class CustodyError extends Error {
  override name = "CustodyError";
  readonly code: string;
  readonly shortMessage: string;
  readonly details?: string;

  constructor(code: string, shortMessage: string, opts: { details?: string; cause?: unknown } = {}) {
    super(opts.details ? `${shortMessage}\n\nDetails: ${opts.details}` : shortMessage, { cause: opts.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = opts.details;
  }
}

/** The caller's input is malformed or out of range (maps to HTTP 400). */
export class InvalidArgumentError extends CustodyError {
  override name = "InvalidArgumentError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("INVALID_ARGUMENT", message, opts);
  }
}

/** An internal invariant broke: a bug or corrupted storage, never the caller's fault (HTTP 500). */
export class InvariantError extends CustodyError {
  override name = "InvariantError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("INVARIANT_VIOLATED", message, opts);
  }
}
