import type { Address, PublicClient } from "viem";
import {
  CosignatureQuorumError,
  NoteFormatError,
  NoteSignatureError,
  TrustPolicyError,
} from "../protocol/errors";
import { RECEIPT_FORMAT_V2 } from "../protocol/receipt-v2";
import { checkPolicyTarget, verifyPolicyCheckpoint, type LoadedTrustPolicy } from "../protocol/trust-policy";
import { verifyAnchorOnChain } from "./chain";
import { checkReceiptFormat, verifyReceiptOffline } from "./receipt";
import { mergeVerdicts, verdictOf, type VerificationCheck, type VerificationResult } from "./result";

/**
 * Receipt verification under the user's own trust policy (custody-trust-policy-v1): the policy pins
 * the chain and the anchor contract, and for a v2 receipt its checkpoint must carry the log's
 * signature and a quorum of the policy's witnesses. Browser-safe.
 */

export interface VerifyUnderPolicyOptions {
  publicClient?: PublicClient;
  rpcUrl?: string;
}

/** What the policy checks found, besides the verdict. */
export interface PolicyVerificationResult extends VerificationResult {
  /** Witnesses whose cosignatures verified (v2 receipts whose checkpoint verified). */
  witnesses?: readonly string[];
  /** False for a v1 receipt: it carries no checkpoint, so no witness was checked. */
  checkpointChecked: boolean;
}

/** The "trustPolicy" check: the receipt's chain and contract are the policy's. */
export function checkTrustPolicyTarget(
  policy: LoadedTrustPolicy,
  anchor: { chainId: number; contract: string },
): VerificationCheck {
  try {
    checkPolicyTarget(policy.policy, anchor);
    return {
      name: "trustPolicy",
      ok: true,
      detail: `chain ${anchor.chainId} and contract ${anchor.contract.toLowerCase()} are the policy's`,
    };
  } catch (err) {
    if (!(err instanceof TrustPolicyError)) throw err;
    return { name: "trustPolicy", ok: false, detail: `${err.shortMessage} (${err.details ?? ""})` };
  }
}

/**
 * The "checkpointSignature" and "witnessQuorum" checks of a signed checkpoint under the policy.
 * Returns the checks and the witnesses whose cosignatures verified.
 */
export function checkPolicyCheckpoint(
  policy: LoadedTrustPolicy,
  note: string,
): { checks: VerificationCheck[]; witnesses?: readonly string[] } {
  const quorum = policy.policy.witnesses.quorum;
  try {
    const v = verifyPolicyCheckpoint(policy, note);
    return {
      witnesses: v.witnesses,
      checks: [
        {
          name: "checkpointSignature",
          ok: true,
          detail: `the log key ${policy.log.name} signed the checkpoint`,
        },
        {
          name: "witnessQuorum",
          ok: true,
          detail: `cosigned by ${v.witnesses.length} of the policy's witnesses (${v.witnesses.join(", ") || "none"}); quorum ${quorum}`,
        },
      ],
    };
  } catch (err) {
    if (err instanceof CosignatureQuorumError)
      return {
        checks: [
          {
            name: "checkpointSignature",
            ok: true,
            detail: `the log key ${policy.log.name} signed the checkpoint`,
          },
          { name: "witnessQuorum", ok: false, detail: `${err.shortMessage} (${err.details ?? ""})` },
        ],
      };
    if (err instanceof NoteSignatureError || err instanceof NoteFormatError)
      return {
        checks: [
          {
            name: "checkpointSignature",
            ok: false,
            detail: `${err.shortMessage}${err.details ? ` (${err.details})` : ""}`,
          },
        ],
      };
    throw err;
  }
}

/**
 * The offline part of `verifyReceiptUnderPolicy`: the receipt's own checks, then `trustPolicy`, then
 * for v2 the checkpoint's `checkpointSignature` and `witnessQuorum`. No network.
 */
export function verifyReceiptUnderPolicyOffline(
  input: unknown,
  policy: LoadedTrustPolicy,
): PolicyVerificationResult {
  const offline = verifyReceiptOffline(input);
  const { receipt } = checkReceiptFormat(input);
  if (!receipt) return { ...offline, checkpointChecked: false };
  const checks: VerificationCheck[] = [checkTrustPolicyTarget(policy, receipt.anchor)];
  let witnesses: readonly string[] | undefined;
  const v2 = receipt.format === RECEIPT_FORMAT_V2;
  if (v2 && checks[0].ok) {
    const c = checkPolicyCheckpoint(policy, receipt.checkpoint);
    checks.push(...c.checks);
    witnesses = c.witnesses;
  }
  return {
    ...mergeVerdicts(offline, verdictOf(checks)),
    checkpointChecked: v2,
    ...(witnesses ? { witnesses } : {}),
  };
}

/**
 * Full verification of a receipt (v1 or v2) under a trust policy: the offline checks, then
 * `trustPolicy` (a receipt of another chain or a lookalike contract is refused before any chain
 * read), then for v2 the checkpoint's log signature and witness quorum, then the on-chain checks
 * against the policy's chain and contract. Throws ChainReadError only when the chain cannot be read.
 *
 * @example
 * const policy = loadTrustPolicy(await (await fetch(policyUrl)).text());
 * const verdict = await verifyReceiptUnderPolicy(text, policy, { rpcUrl });
 */
export async function verifyReceiptUnderPolicy(
  input: unknown,
  policy: LoadedTrustPolicy,
  opts: VerifyUnderPolicyOptions,
): Promise<PolicyVerificationResult> {
  const offline = verifyReceiptUnderPolicyOffline(input, policy);
  const { receipt } = checkReceiptFormat(input);
  // A receipt that fails offline or names another chain/contract is refused without reading the chain.
  if (!receipt || !offline.ok) return offline;
  const onChain = await verifyAnchorOnChain(receipt, {
    ...opts,
    expectedContract: policy.policy.anchorContract.toLowerCase() as Address,
    expectedChainId: policy.policy.chainId,
  });
  return { ...offline, ...mergeVerdicts(offline, onChain) };
}
