import type { TransactionReceipt } from "viem";
import { type EscrowWriteParameters, writeEscrow } from "./escrow-write";

/** `walletClient` holds CUSTODIAN_ROLE on the escrow contract. */
export type ApproveEscrowAsCustodianParameters = EscrowWriteParameters;

/**
 * Sends `CustodyEscrow.approveAsCustodian(escrowId)` (the custodian's own approval of an escrow
 * above its threshold; it releases once the approvers' threshold is met too) and waits for it.
 */
export function approveEscrowAsCustodian(p: ApproveEscrowAsCustodianParameters): Promise<TransactionReceipt> {
  return writeEscrow(p, "approveAsCustodian", [p.escrowId]);
}
