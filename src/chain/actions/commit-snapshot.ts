import {
  encodeFunctionData,
  stringToHex,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { custodySolvencyAbi } from "../generated/abi";
import { SolvencyTransactionError } from "./solvency-errors";

export interface CommitSnapshotParameters {
  address: Address;
  asset: string;
  /** Days since 1970-01-01 (UTC). */
  dayNumber: number;
  logSize: number;
  rootHash: Hex;
  rootSum: bigint;
  leafCount: number;
}
export type CommitSnapshotReturnType = Hex;

/**
 * CustodySolvency.commitSnapshot from a PLATFORM_ROLE key; waits for the receipt and returns the
 * transaction hash. Throws {@link SolvencyTransactionError} if it reverts.
 */
/** The calldata of commitSnapshot, for a sender that signs and tracks its own transactions (the relayer's). */
export function commitSnapshotCallData(p: Omit<CommitSnapshotParameters, "address">): Hex {
  return encodeFunctionData({
    abi: custodySolvencyAbi,
    functionName: "commitSnapshot",
    args: snapshotArgs(p),
  });
}

function snapshotArgs(p: Omit<CommitSnapshotParameters, "address">) {
  return [
    stringToHex(p.asset, { size: 32 }),
    p.dayNumber,
    BigInt(p.logSize),
    p.rootHash,
    p.rootSum,
    BigInt(p.leafCount),
  ] as const;
}

export async function commitSnapshot(
  clients: { walletClient: WalletClient<Transport, Chain, Account>; publicClient: PublicClient },
  p: CommitSnapshotParameters,
): Promise<CommitSnapshotReturnType> {
  const { request } = await clients.publicClient.simulateContract({
    account: clients.walletClient.account,
    address: p.address,
    abi: custodySolvencyAbi,
    functionName: "commitSnapshot",
    args: snapshotArgs(p),
  });
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SolvencyTransactionError(`commitSnapshot reverted`, { details: hash });
  return hash;
}
