import type { AnchoredHead, AnchorLocation } from "../protocol/head";

/**
 * The verdict of a receipt verification: every check that ran, in order, and the first failure.
 * Browser-safe.
 */

/**
 * Stable names of the checks (docs/receipt-v1.md §Verification, docs/receipt-v2.md). Offline checks
 * come first, then the trust policy's, then the on-chain ones.
 */
export type CheckName =
  | "format"
  | "leafIndex"
  | "leafHash"
  | "inclusionProof"
  | "checkpointAnchor"
  | "trustPolicy"
  | "checkpointSignature"
  | "witnessQuorum"
  | "chainId"
  | "expectedContract"
  | "contractCode"
  | "anchoredHead"
  | "anchorTransaction"
  | "onChainInclusion";

export interface VerificationCheck {
  name: CheckName;
  ok: boolean;
  /** What was checked and, on failure, what was expected and what was found. */
  detail: string;
}

/** The head as read from the anchor contract, and where (present once the chain was read successfully). */
export type VerifiedHead = AnchoredHead & AnchorLocation;

export interface VerificationResult {
  /** True only when every check ran and passed. */
  ok: boolean;
  checks: VerificationCheck[];
  /** The first failing check's detail; absent when ok. */
  reason?: string;
  /** The first failing check's name; absent when ok. */
  failedCheck?: CheckName;
  /** The head read from the chain, when the on-chain checks got that far. */
  anchoredHead?: VerifiedHead;
}

/** Builds the verdict from checks in the order they ran. An empty list is never ok. */
export function verdictOf(checks: VerificationCheck[], anchoredHead?: VerifiedHead): VerificationResult {
  const failed = checks.find((c) => !c.ok);
  const result: VerificationResult = { ok: checks.length > 0 && !failed, checks };
  if (failed) {
    result.reason = failed.detail;
    result.failedCheck = failed.name;
  } else if (checks.length === 0) {
    result.reason = "no check ran";
  }
  if (anchoredHead) result.anchoredHead = anchoredHead;
  return result;
}

/** Joins verdicts (e.g. offline then on-chain) into one, keeping the check order. */
export function mergeVerdicts(...parts: VerificationResult[]): VerificationResult {
  const head = parts.find((p) => p.anchoredHead)?.anchoredHead;
  return verdictOf(
    parts.flatMap((p) => p.checks),
    head,
  );
}
