import { CustodyError, InvalidArgumentError } from "../errors";

/**
 * Failures of the risk module a caller acts on. Input errors extend InvalidArgumentError (HTTP 400);
 * a refused step (wrong state, same maker and checker, expired) changes nothing.
 */
type Opts = { details?: string; cause?: unknown };

/** A rule file that is not valid `custody-risk-rules-v1` (the active rules stay in force). */
export class InvalidRuleFileError extends InvalidArgumentError {
  override name = "InvalidRuleFileError";
  override readonly code = "INVALID_RULE_FILE";
}

/** A malformed risk request (alert filter, transition, approval proposal). */
export class InvalidRiskInputError extends InvalidArgumentError {
  override name = "InvalidRiskInputError";
  override readonly code = "INVALID_RISK_INPUT";
}

export class UnknownAlertError extends CustodyError {
  override name = "UnknownAlertError";
  constructor(readonly alertId: string) {
    super("UNKNOWN_ALERT", `unknown alert ${JSON.stringify(alertId)}`);
  }
}

/** The lifecycle does not allow this step from the alert's current state. */
export class InvalidAlertTransitionError extends CustodyError {
  override name = "InvalidAlertTransitionError";
  constructor(
    readonly alertId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super("INVALID_ALERT_TRANSITION", `alert ${JSON.stringify(alertId)} cannot go from ${from} to ${to}`, {
      details: "allowed: open → under_review; under_review → dismissed | confirmed | escalated",
    });
  }
}

/** Dismissing an alert or rejecting an approval needs a written reason. */
export class ReasonRequiredError extends InvalidArgumentError {
  override name = "ReasonRequiredError";
  override readonly code = "REASON_REQUIRED";
}

export class UnknownApprovalError extends CustodyError {
  override name = "UnknownApprovalError";
  constructor(readonly approvalId: string) {
    super("UNKNOWN_APPROVAL", `unknown approval ${JSON.stringify(approvalId)}`);
  }
}

/** The checker is the maker: dual control needs two different keys. */
export class MakerCheckerConflictError extends CustodyError {
  override name = "MakerCheckerConflictError";
  constructor(
    readonly approvalId: string,
    readonly keyId: string,
  ) {
    super("MAKER_IS_CHECKER", `approval ${JSON.stringify(approvalId)} cannot be decided by its maker`, {
      details: `key ${keyId} proposed it`,
    });
  }
}

export class ApprovalExpiredError extends CustodyError {
  override name = "ApprovalExpiredError";
  constructor(
    readonly approvalId: string,
    readonly expiresAt: number,
  ) {
    super("APPROVAL_EXPIRED", `approval ${JSON.stringify(approvalId)} expired`, {
      details: `expired at ${new Date(expiresAt).toISOString()}`,
    });
  }
}

/** The approval was already decided (approved, rejected, executed or expired). */
export class ApprovalNotPendingError extends CustodyError {
  override name = "ApprovalNotPendingError";
  constructor(
    readonly approvalId: string,
    readonly state: string,
  ) {
    super("APPROVAL_NOT_PENDING", `approval ${JSON.stringify(approvalId)} is ${state}, not pending`);
  }
}

/** The operation needs dual control: propose it at /v1/approvals instead. */
export class DualControlRequiredError extends CustodyError {
  override name = "DualControlRequiredError";
  constructor(message: string, opts: Opts = {}) {
    super("DUAL_CONTROL_REQUIRED", message, opts);
  }
}

/** The alert webhook could not take a delivery (none configured, or it did not answer 2xx); the outbox retries. */
export class WebhookDeliveryError extends CustodyError {
  override name = "WebhookDeliveryError";
  constructor(
    message: string,
    readonly status?: number,
    opts: Opts = {},
  ) {
    super("WEBHOOK_DELIVERY_FAILED", message, opts);
  }
}

/** The risk module's own tables contradict each other or the log (a bug or tampering). */
export class RiskStateError extends CustodyError {
  override name = "RiskStateError";
  constructor(message: string, opts: Opts = {}) {
    super("RISK_STATE_INVALID", message, opts);
  }
}

/** The escrow contract does not let the custodian take this decision now (state, role or rule). */
export class EscrowOverrideNotAllowedError extends CustodyError {
  override name = "EscrowOverrideNotAllowedError";
  constructor(
    readonly holdId: string,
    readonly escrowState: string,
    opts: Opts = {},
  ) {
    super(
      "ESCROW_OVERRIDE_NOT_ALLOWED",
      `escrow override of hold ${JSON.stringify(holdId)} refused (${escrowState})`,
      opts,
    );
  }
}
