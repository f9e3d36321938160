import type { TransactionReceipt } from "viem";
import { type EscrowWriteParameters, writeEscrow } from "./escrow-write";

/** `walletClient` holds CUSTODIAN_ROLE on the escrow contract. */
export interface ResolveEscrowDisputeParameters extends EscrowWriteParameters {
  /** true: release to the payee; false: refund the payer. */
  releaseToPayee: boolean;
}

/** Sends `CustodyEscrow.resolveDispute(escrowId, releaseToPayee)` and waits for its receipt. */
export function resolveEscrowDispute(p: ResolveEscrowDisputeParameters): Promise<TransactionReceipt> {
  return writeEscrow(p, "resolveDispute", [p.escrowId, p.releaseToPayee]);
}
