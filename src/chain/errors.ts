import { CustodyError } from "../errors";

/** No signing key could be loaded (missing, malformed, or wrong keystore password). Never carries the key. */
export class KeyUnavailableError extends CustodyError {
  override name = "KeyUnavailableError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("KEY_UNAVAILABLE", message, opts);
  }
}

/** A deployment file is missing, unreadable or not a valid `custody-deployment-v1` document. */
export class DeploymentFileError extends CustodyError {
  override name = "DeploymentFileError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("DEPLOYMENT_FILE_INVALID", message, opts);
  }
}

/** Deploying the contracts or granting their roles failed on chain. */
export class DeploymentFailedError extends CustodyError {
  override name = "DeploymentFailedError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("DEPLOYMENT_FAILED", message, opts);
  }
}

/** The local node (anvil) could not be started or did not answer in time. */
export class NodeStartError extends CustodyError {
  override name = "NodeStartError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("NODE_START_FAILED", message, opts);
  }
}

/** The `HeadAnchored` event of an existing head is not in the head's block (the block is being reorganised: retry later). */
export class HeadEventNotFoundError extends CustodyError {
  override name = "HeadEventNotFoundError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("HEAD_EVENT_NOT_FOUND", message, opts);
  }
}

/** The chain refused an audit attestation (no head to attest, reverted, already attested). */
export class AuditAttestationError extends CustodyError {
  override name = "AuditAttestationError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("AUDIT_ATTESTATION_FAILED", message, opts);
  }
}
