import type {
  Account,
  Address,
  Chain,
  ContractFunctionArgs,
  ContractFunctionName,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from "viem";
import { custodyEscrowAbi } from "../generated/abi";

/** What every CustodyEscrow decision on one escrow needs: a signer with the right role, and a reader. */
export interface EscrowWriteParameters {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  escrow: Address;
  escrowId: Hex;
  /** How long to wait for the receipt (ms); default viem's. A transaction the node lost never gets one. */
  receiptTimeoutMs?: number;
}

type Abi = typeof custodyEscrowAbi;
type WriteName = ContractFunctionName<Abi, "nonpayable">;

/** Sends one CustodyEscrow write (the escrow decision actions share it) and waits for its receipt. */
export async function writeEscrow<F extends WriteName>(
  p: EscrowWriteParameters,
  functionName: F,
  args: ContractFunctionArgs<Abi, "nonpayable", F>,
): Promise<TransactionReceipt> {
  const hash = await p.walletClient.writeContract({
    address: p.escrow,
    abi: custodyEscrowAbi,
    functionName,
    chain: p.walletClient.chain,
    args,
  } as never);
  return p.publicClient.waitForTransactionReceipt({ hash, timeout: p.receiptTimeoutMs });
}
