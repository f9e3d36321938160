import { type Address, type Hex, type PublicClient } from "viem";
import type { EscrowTermsV1 } from "../../protocol/escrow-terms-v1";
import { custodyEscrowAbi } from "../generated/abi";

/** Escrow states, numbered as in ICustodyEscrow.EscrowState. */
export const ESCROW_STATES = ["None", "Open", "Disputed", "Released", "Refunded"] as const;
export type EscrowStateName = (typeof ESCROW_STATES)[number];

/**
 * Terms and status of an on-chain escrow: its parties, asset and amount, the v1 terms' rules, and
 * its status. Amounts are bigint minor units; times are Unix seconds; approvers as the chain returns
 * them (checksummed).
 */
export interface OnChainEscrow extends Omit<EscrowTermsV1, "format"> {
  escrowId: Hex;
  payer: Hex;
  payee: Hex;
  asset: Hex;
  amount: bigint;
  state: EscrowStateName;
  approvalCount: number;
  approvedMask: number;
  custodianApprovalRequired: boolean;
  custodianApproved: boolean;
  createdAt: number;
  closedAt: number;
}

/** Reads escrow `escrowId` (`getEscrow`); reverts (CustodyEscrowNotFound) if it does not exist. */
export async function readEscrow(
  client: PublicClient,
  address: Address,
  escrowId: Hex,
  /** Read the state as of this block (default: the latest). */
  blockNumber?: number,
): Promise<OnChainEscrow> {
  const [t, s] = await client.readContract({
    address,
    abi: custodyEscrowAbi,
    functionName: "getEscrow",
    args: [escrowId],
    ...(blockNumber === undefined ? {} : { blockNumber: BigInt(blockNumber) }),
  });
  return {
    escrowId: escrowId.toLowerCase() as Hex,
    payer: t.payer,
    payee: t.payee,
    asset: t.asset,
    amount: t.amount,
    approvers: [...t.approvers],
    payerSideMask: t.payerSideMask,
    threshold: t.threshold,
    autoReleaseAt: Number(t.autoReleaseAt),
    expiresAt: Number(t.expiresAt),
    agreementHash: t.agreementHash,
    state: ESCROW_STATES[s.state]!,
    approvalCount: s.approvalCount,
    approvedMask: s.approvedMask,
    custodianApprovalRequired: s.custodianApprovalRequired,
    custodianApproved: s.custodianApproved,
    createdAt: Number(s.createdAt),
    closedAt: Number(s.closedAt),
  };
}
