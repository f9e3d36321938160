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

export interface ApproveEscrowAsCustodianParameters {
  publicClient: PublicClient;
  /** Holds CUSTODIAN_ROLE on the escrow contract. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  escrow: Address;
  escrowId: Hex;
}

/**
 * Sends `CustodyEscrow.approveAsCustodian(escrowId)` (the custodian's own approval of an escrow
 * above its threshold; it releases once the approvers' threshold is met too) and waits for it.
 */
export async function approveEscrowAsCustodian(
  p: ApproveEscrowAsCustodianParameters,
): Promise<TransactionReceipt> {
  const hash = await p.walletClient.writeContract({
    address: p.escrow,
    abi: custodyEscrowAbi,
    functionName: "approveAsCustodian",
    chain: p.walletClient.chain,
    args: [p.escrowId],
  });
  return p.publicClient.waitForTransactionReceipt({ hash });
}
