import { CustodyError } from "../errors";

/**
 * The chain's anchored history disagrees with the local log or ledger: an event was altered after
 * it was anchored, or the relayer points at the wrong database. The relayer stops anchoring and
 * never anchors over it.
 */
export class RelayerLogMismatchError extends CustodyError {
  override name = "RelayerLogMismatchError";
  /** The smallest tree size at which the local log no longer matches the anchored history. */
  readonly firstBadSize: number;
  constructor(firstBadSize: number, opts: { details?: string; cause?: unknown } = {}) {
    super(
      "RELAYER_LOG_MISMATCH",
      `local log differs from the anchored history from tree size ${firstBadSize}`,
      opts,
    );
    this.firstBadSize = firstBadSize;
  }
}

/** The database's anchor records belong to another chain or contract than the configured deployment. */
export class RelayerDeploymentMismatchError extends CustodyError {
  override name = "RelayerDeploymentMismatchError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("RELAYER_DEPLOYMENT_MISMATCH", message, opts);
  }
}

/** This instance does not hold the leader lease, so it must not write to the chain. */
export class RelayerNotLeaderError extends CustodyError {
  override name = "RelayerNotLeaderError";
  constructor(opts: { details?: string; cause?: unknown } = {}) {
    super("RELAYER_NOT_LEADER", "this relayer instance does not hold the leader lease", opts);
  }
}

/** A transaction the relayer sent was mined but reverted. */
export class RelayerTransactionRevertedError extends CustodyError {
  override name = "RelayerTransactionRevertedError";
  readonly txHash: string;
  constructor(txHash: string, opts: { details?: string; cause?: unknown } = {}) {
    super("RELAYER_TX_REVERTED", `transaction ${txHash} reverted`, opts);
    this.txHash = txHash;
  }
}

/** Thrown by a fault hook in tests to simulate a crash at a named step. */
export class RelayerFaultInjectedError extends CustodyError {
  override name = "RelayerFaultInjectedError";
  readonly step: string;
  constructor(step: string) {
    super("RELAYER_FAULT_INJECTED", `fault injected at step ${step}`);
    this.step = step;
  }
}

/** A sent transaction was not mined before the sender's deadline (it may still be; the next step re-checks). */
export class RelayerTransactionNotMinedError extends CustodyError {
  override name = "RelayerTransactionNotMinedError";
  readonly nonce: number;
  constructor(nonce: number) {
    super("RELAYER_TX_NOT_MINED", `transaction nonce ${nonce} not mined in time`);
    this.nonce = nonce;
  }
}

/**
 * The anchor cosigner (the custodian's witness) gave no usable cosignature for the next head, or the
 * relayer's configuration does not match the contract (a cosigner on chain but none configured, or
 * the reverse). Nothing is sent; the next step asks again.
 */
export class RelayerCosignatureError extends CustodyError {
  override name = "RelayerCosignatureError";
  readonly step = "anchor-cosignature";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("RELAYER_COSIGNATURE", message, opts);
  }
}

/**
 * A witness refused or garbled an add-checkpoint request (tlog-witness): its answer is logged and
 * the checkpoint is offered again at the next head.
 */
export class WitnessRequestError extends CustodyError {
  override name = "WitnessRequestError";
  constructor(
    readonly witness: string,
    message: string,
    opts: { details?: string; cause?: unknown } = {},
  ) {
    super("WITNESS_REQUEST_FAILED", message, opts);
  }
}
