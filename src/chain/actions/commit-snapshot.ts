import { encodeFunctionData, type Address, type Hex } from "viem";
import { custodySolvencyAbi } from "../generated/abi";
import { type SolvencyWriteClients, assetKey, writeSolvency } from "./solvency-write";

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
    assetKey(p.asset),
    p.dayNumber,
    BigInt(p.logSize),
    p.rootHash,
    p.rootSum,
    BigInt(p.leafCount),
  ] as const;
}

/**
 * CustodySolvency.commitSnapshot from a PLATFORM_ROLE key; waits for the receipt and returns the
 * transaction hash. Throws {@link SolvencyTransactionError} if it reverts.
 */
export async function commitSnapshot(
  clients: SolvencyWriteClients,
  p: CommitSnapshotParameters,
): Promise<CommitSnapshotReturnType> {
  return writeSolvency(clients, p.address, "commitSnapshot", snapshotArgs(p));
}
