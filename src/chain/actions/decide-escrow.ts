import type {
  Account,
  Address,
  Chain,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from "viem";
import { custodyEscrowAbi } from "../generated/abi";

export interface DecideEscrowParameters {
  publicClient: PublicClient;
  /** An approver of the escrow (approve) or a party entitled to refund it (refund). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  escrow: Address;
  escrowId: Hex;
  decision: "approve" | "refund";
  /** How long to wait for the receipt (ms); default viem's. A transaction the node lost never gets one. */
  receiptTimeoutMs?: number;
}

/** Sends `CustodyEscrow.approve(escrowId)` or `refund(escrowId)` and waits for its receipt. */
export async function decideEscrow(p: DecideEscrowParameters): Promise<TransactionReceipt> {
  const hash = await p.walletClient.writeContract({
    address: p.escrow,
    abi: custodyEscrowAbi,
    functionName: p.decision,
    chain: p.walletClient.chain,
    args: [p.escrowId],
  });
  return p.publicClient.waitForTransactionReceipt({ hash, timeout: p.receiptTimeoutMs });
}
