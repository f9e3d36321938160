import { CustodyError } from "../errors";

type Opts = { details?: string; cause?: unknown };

/** The events could not be read (database or API unreachable, bad answer): no verdict. */
export class AuditSourceError extends CustodyError {
  override name = "AuditSourceError";
  constructor(message: string, opts: Opts = {}) {
    super("AUDIT_SOURCE_UNAVAILABLE", message, opts);
  }
}

/** The chain could not be read, or the contract is not a CustodyAnchor: no verdict. */
export class AuditChainError extends CustodyError {
  override name = "AuditChainError";
  constructor(message: string, opts: Opts = {}) {
    super("AUDIT_CHAIN_UNAVAILABLE", message, opts);
  }
}

/** Recording the report hash on chain failed (no head to attest, reverted, already attested). */
export { AuditAttestationError } from "../chain/errors";
