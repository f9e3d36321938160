/** Receipt verification: the public surface. See docs/receipt-v1.md. */
export {
  RECEIPT_FORMAT_V1,
  MAX_INCLUSION_PROOF_LENGTH,
  ReceiptFormatError,
  receiptV1Schema,
  leafProofSchema,
  parseReceipt,
  parseLeafProof,
  receiptToJson,
  createReceipt,
  type Receipt,
  type ReceiptJson,
  type ReceiptAnchor,
  type LeafProof,
  type CreateReceiptParameters,
} from "../protocol/receipt-v1";
export {
  RECEIPT_FORMAT_V2,
  receiptV2Schema,
  parseReceiptV2,
  parseAnyReceipt,
  anyReceiptToJson,
  createReceiptV2,
  type AnyReceipt,
  type AnyReceiptJson,
  type ReceiptV2,
  type ReceiptV2Json,
} from "../protocol/receipt-v2";
export {
  verifyReceiptUnderPolicy,
  verifyReceiptUnderPolicyOffline,
  checkTrustPolicyTarget,
  checkPolicyCheckpoint,
  type PolicyVerificationResult,
  type VerifyUnderPolicyOptions,
} from "./policy";
export {
  checkReceiptFormat,
  checkCheckpointAnchor,
  checkInclusionProof,
  verifyReceiptOffline,
  verifyLeafProofOffline,
} from "./receipt";
export {
  ChainReadError,
  verifyAnchorOnChain,
  verifyReceiptOnChain,
  verifyReceipt,
  verifyLeafProof,
  type VerifyOnChainOptions,
} from "./chain";
export {
  ApiReadError,
  LeafNotFoundError,
  fetchLeafProof,
  fetchVerifierConfig,
  normalizeLeafHash,
  type VerifierConfig,
} from "./api";
export {
  verdictOf,
  mergeVerdicts,
  type CheckName,
  type VerificationCheck,
  type VerificationResult,
  type VerifiedHead,
} from "./result";
