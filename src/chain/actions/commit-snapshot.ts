import type { Address, Hex } from "viem";
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

/**
 * CustodySolvency.commitSnapshot from a PLATFORM_ROLE key; waits for the receipt and returns the
 * transaction hash. Throws {@link SolvencyTransactionError} if it reverts.
 */
export async function commitSnapshot(
  clients: SolvencyWriteClients,
  p: CommitSnapshotParameters,
): Promise<CommitSnapshotReturnType> {
  return writeSolvency(clients, p.address, "commitSnapshot", [
    assetKey(p.asset),
    p.dayNumber,
    BigInt(p.logSize),
    p.rootHash,
    p.rootSum,
    BigInt(p.leafCount),
  ]);
}
