import {
  stringToHex,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { custodySolvencyAbi } from "../generated/abi";
import { SolvencyTransactionError } from "./solvency-errors";

/** The clients a CustodySolvency write needs: the signer's wallet and a reader for the receipt. */
export interface SolvencyWriteClients {
  walletClient: WalletClient<Transport, Chain, Account>;
  publicClient: PublicClient;
}

type Abi = typeof custodySolvencyAbi;
type WriteName = ContractFunctionName<Abi, "nonpayable">;

/** An asset code as the contract keys it: UTF-8, right-padded to bytes32. */
export function assetKey(asset: string): Hex {
  return stringToHex(asset, { size: 32 });
}

/**
 * Simulates, sends and waits for one CustodySolvency write (the solvency actions share it); returns
 * the mined transaction hash. Throws {@link SolvencyTransactionError} if it reverts.
 */
export async function writeSolvency<F extends WriteName>(
  clients: SolvencyWriteClients,
  address: Address,
  functionName: F,
  args: ContractFunctionArgs<Abi, "nonpayable", F>,
): Promise<Hex> {
  const { request } = await clients.publicClient.simulateContract({
    account: clients.walletClient.account,
    address,
    abi: custodySolvencyAbi,
    functionName,
    args,
  } as never);
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SolvencyTransactionError(`${functionName} reverted`, { details: hash });
  return hash;
}
