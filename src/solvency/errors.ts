import { CustodyError } from "../errors";

type Opts = { details?: string; cause?: unknown };

/** No snapshot with that id (or none for that asset and day). */
export class UnknownSnapshotError extends CustodyError {
  override name = "UnknownSnapshotError";
  constructor(
    readonly snapshotId: string,
    opts: Opts = {},
  ) {
    super("UNKNOWN_SNAPSHOT", `unknown liabilities snapshot ${JSON.stringify(snapshotId)}`, opts);
  }
}

/** The account is not a customer sub-account of the snapshot's asset, so it has no leaf. */
export class NotInSnapshotError extends CustodyError {
  override name = "NotInSnapshotError";
  constructor(message: string, opts: Opts = {}) {
    super("SNAPSHOT_ACCOUNT_NOT_FOUND", message, opts);
  }
}

/** A snapshot cannot be taken: the log is shorter than asked, or a customer balance is out of range. */
export class SnapshotRefusedError extends CustodyError {
  override name = "SnapshotRefusedError";
  constructor(message: string, opts: Opts = {}) {
    super("SNAPSHOT_REFUSED", message, opts);
  }
}
