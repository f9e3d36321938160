import { bytesToHex, type Hex } from "viem";
import { ProofError } from "../log/errors";
import { verifyInclusion } from "../log/verify";
import { leafHashOf } from "../protocol/leaf-v1";
import { ReceiptFormatError, type LeafProof } from "../protocol/receipt-v1";
import {
  RECEIPT_FORMAT_V2,
  anyReceiptToJson,
  checkpointOfNote,
  parseAnyReceipt,
  type AnyReceipt,
} from "../protocol/receipt-v2";
import { verdictOf, type VerificationCheck, type VerificationResult } from "./result";

/** Offline receipt verification (browser-safe): the format of src/protocol/receipt-v1.ts, checked. */

function isParsedReceipt(input: unknown): input is AnyReceipt {
  const amount = (input as { entry?: { amount?: unknown } } | null)?.entry?.amount;
  return typeof amount === "bigint";
}

/**
 * The "format" check: parses the input (JSON text, JSON object or an already parsed receipt), v1 or
 * v2. Returns the receipt, or undefined with the failing check.
 */
export function checkReceiptFormat(input: unknown): { receipt?: AnyReceipt; check: VerificationCheck } {
  try {
    const receipt = parseAnyReceipt(isParsedReceipt(input) ? anyReceiptToJson(input) : input);
    return { receipt, check: { name: "format", ok: true, detail: `well-formed ${receipt.format}` } };
  } catch (err) {
    if (err instanceof ReceiptFormatError)
      return { check: { name: "format", ok: false, detail: err.shortMessage } };
    throw err;
  }
}

/** The "inclusionProof" check of a leaf hash at leafIndex against anchor.rootHash / anchor.treeSize. */
export function checkInclusionProof(proof: LeafProof, leafHash: Hex = proof.leafHash): VerificationCheck {
  const { leafIndex, anchor, inclusionProof } = proof;
  try {
    verifyInclusion({
      leafIndex,
      treeSize: anchor.treeSize,
      leafHash,
      proof: inclusionProof,
      rootHash: anchor.rootHash,
    });
    return {
      name: "inclusionProof",
      ok: true,
      detail: `leaf ${leafIndex} is in the tree of size ${anchor.treeSize} with root ${anchor.rootHash}`,
    };
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    return {
      name: "inclusionProof",
      ok: false,
      detail: `inclusion proof does not lead to the anchored root: ${err.shortMessage}${err.details ? ` (${err.details})` : ""}`,
    };
  }
}

/**
 * Verifies everything a receipt proves without any network: its form, that leafIndex equals the
 * entry's sequence, that the entry hashes to leafHash (RFC 9162 leaf hash of the v1 leaf bytes), and
 * that the inclusion proof leads from that hash to anchor.rootHash in a tree of anchor.treeSize.
 * Never throws for a bad receipt: the verdict says what failed. Whether the head was really anchored
 * is for `verifyReceiptOnChain`.
 *
 * @param input the receipt: JSON text, JSON object, or the result of `parseReceipt`.
 */
export function verifyReceiptOffline(input: unknown): VerificationResult {
  const { receipt, check } = checkReceiptFormat(input);
  if (!receipt) return verdictOf([check]);
  const checks: VerificationCheck[] = [check];
  const { entry, leafIndex } = receipt;
  checks.push(
    leafIndex === entry.sequence
      ? { name: "leafIndex", ok: true, detail: `leaf index ${leafIndex} equals the entry's sequence` }
      : {
          name: "leafIndex",
          ok: false,
          detail: `leaf index ${leafIndex} differs from the entry's sequence ${entry.sequence}`,
        },
  );
  const computed = bytesToHex(leafHashOf(entry));
  checks.push(
    computed === receipt.leafHash
      ? { name: "leafHash", ok: true, detail: `the entry hashes to ${computed}` }
      : {
          name: "leafHash",
          ok: false,
          detail: `the entry hashes to ${computed}, but the receipt says ${receipt.leafHash}: the entry was altered`,
        },
  );
  // The proof must prove the entry itself, so it is checked with the recomputed hash.
  checks.push(checkInclusionProof(receipt, computed));
  if (receipt.format === RECEIPT_FORMAT_V2) checks.push(checkCheckpointAnchor(receipt.checkpoint, receipt));
  return verdictOf(checks);
}

/** Offline verification of a leaf proof (no entry to recompute): the inclusion proof only. */
export function verifyLeafProofOffline(proof: LeafProof): VerificationResult {
  return verdictOf([checkInclusionProof(proof)]);
}

/**
 * The "checkpointAnchor" check of a v2 receipt: its checkpoint states the anchor's tree size and
 * root, so the signatures on it vouch for the head the proof leads to. Signatures are checked only
 * under a trust policy (src/verify/policy.ts).
 */
export function checkCheckpointAnchor(note: string, proof: LeafProof): VerificationCheck {
  let size: number;
  let root: string;
  try {
    ({ size, rootHash: root } = checkpointOfNote(note));
  } catch (err) {
    if (!(err instanceof ReceiptFormatError)) throw err;
    return { name: "checkpointAnchor", ok: false, detail: err.shortMessage };
  }
  const ok = size === proof.anchor.treeSize && root === proof.anchor.rootHash.toLowerCase();
  return {
    name: "checkpointAnchor",
    ok,
    detail: ok
      ? `the checkpoint is of the anchored head (size ${size}, root ${root})`
      : `the checkpoint is of size ${size} and root ${root}, the anchor of size ${proof.anchor.treeSize} and root ${proof.anchor.rootHash}`,
  };
}
