import { CustodyError } from "../errors";

/** A signed note, checkpoint, key, cosignature or witness request is malformed (caller's fault). */
export class NoteFormatError extends CustodyError {
  override name = "NoteFormatError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("NOTE_FORMAT", message, opts);
  }
}

/** A signature by a trusted key failed, or no trusted key signed the note (signed-note §Signatures). */
export class NoteSignatureError extends CustodyError {
  override name = "NoteSignatureError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("NOTE_SIGNATURE", message, opts);
  }
}

/** Fewer valid witness cosignatures than the trust policy's quorum. */
export class CosignatureQuorumError extends CustodyError {
  override name = "CosignatureQuorumError";
  readonly quorum: number;
  readonly valid: number;
  constructor(quorum: number, valid: number, details?: string) {
    super(
      "COSIGNATURE_QUORUM",
      `checkpoint has ${valid} valid witness cosignatures, the policy needs ${quorum}`,
      {
        details,
      },
    );
    this.quorum = quorum;
    this.valid = valid;
  }
}

/** A trust policy file is malformed, or a receipt/checkpoint does not match it. */
export class TrustPolicyError extends CustodyError {
  override name = "TrustPolicyError";
  constructor(code: "POLICY_FORMAT" | "POLICY_MISMATCH", message: string, opts: { details?: string } = {}) {
    super(code, message, opts);
  }
}

/** An anchor cosignature request or its fields are malformed (caller's fault). */
export class AnchorCosignatureFormatError extends CustodyError {
  override name = "AnchorCosignatureFormatError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("ANCHOR_COSIGNATURE_FORMAT", message, opts);
  }
}
