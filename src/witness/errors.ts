import { CustodyError } from "../errors";

/**
 * A refused add-checkpoint request, with the HTTP status C2SP tlog-witness assigns to it:
 * 400 malformed, 403 bad/missing log signature, 404 unknown origin, 409 old size mismatch
 * (body: the known size), 422 inconsistent (proof, equal-size roots, or not the head on chain).
 */
export class WitnessRefusalError extends CustodyError {
  override name = "WitnessRefusalError";
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422,
    message: string,
    opts: { details?: string; knownSize?: number } = {},
  ) {
    super(`WITNESS_${status}`, message, opts);
    this.knownSize = opts.knownSize;
  }
  readonly knownSize?: number;
}

/** The witness's state file is unreadable or malformed: it refuses to start rather than forget what it cosigned. */
export class WitnessStateError extends CustodyError {
  override name = "WitnessStateError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("WITNESS_STATE", message, opts);
  }
}
