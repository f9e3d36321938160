import type { TransactionReceipt } from "viem";
import { type EscrowWriteParameters, writeEscrow } from "./escrow-write";

/** `walletClient` is an approver of the escrow (approve) or a party entitled to refund it (refund). */
export interface DecideEscrowParameters extends EscrowWriteParameters {
  decision: "approve" | "refund";
}

/** Sends `CustodyEscrow.approve(escrowId)` or `refund(escrowId)` and waits for its receipt. */
export function decideEscrow(p: DecideEscrowParameters): Promise<TransactionReceipt> {
  return writeEscrow(p, p.decision, [p.escrowId]);
}
