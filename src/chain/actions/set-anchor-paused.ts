import type {
  Account,
  Address,
  Chain,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from "viem";
import { custodyAnchorAbi } from "../generated/abi";

export interface SetAnchorPausedParameters {
  publicClient: PublicClient;
  /** A holder of PAUSER_ROLE on the anchor contract. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  anchor: Address;
  paused: boolean;
}

/** Sends `CustodyAnchor.pause()` or `unpause()` and waits for its receipt. */
export async function setAnchorPaused(p: SetAnchorPausedParameters): Promise<TransactionReceipt> {
  const hash = await p.walletClient.writeContract({
    address: p.anchor,
    abi: custodyAnchorAbi,
    functionName: p.paused ? "pause" : "unpause",
    chain: p.walletClient.chain,
  });
  return p.publicClient.waitForTransactionReceipt({ hash });
}
