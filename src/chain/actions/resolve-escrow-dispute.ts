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

export interface ResolveEscrowDisputeParameters {
  publicClient: PublicClient;
  /** Holds CUSTODIAN_ROLE on the escrow contract. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  escrow: Address;
  escrowId: Hex;
  /** true: release to the payee; false: refund the payer. */
  releaseToPayee: boolean;
}

/** Sends `CustodyEscrow.resolveDispute(escrowId, releaseToPayee)` and waits for its receipt. */
export async function resolveEscrowDispute(p: ResolveEscrowDisputeParameters): Promise<TransactionReceipt> {
  const hash = await p.walletClient.writeContract({
    address: p.escrow,
    abi: custodyEscrowAbi,
    functionName: "resolveDispute",
    chain: p.walletClient.chain,
    args: [p.escrowId, p.releaseToPayee],
  });
  return p.publicClient.waitForTransactionReceipt({ hash });
}
