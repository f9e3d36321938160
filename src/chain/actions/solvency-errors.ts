import { CustodyError } from "../../errors";

/** A CustodySolvency transaction was mined but reverted. */
export class SolvencyTransactionError extends CustodyError {
  override name = "SolvencyTransactionError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("SOLVENCY_TX_FAILED", message, opts);
  }
}
