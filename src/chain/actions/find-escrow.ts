import type { Address, Hex, PublicClient } from "viem";
import { revertErrorName } from "../revert";
import { readEscrow, type OnChainEscrow } from "./read-escrow";

/** Reads escrow `escrowId`, or undefined if the contract has none (it reverts CustodyEscrowNotFound). */
export async function findEscrow(
  client: PublicClient,
  address: Address,
  escrowId: Hex,
  /** As of this block (default: the latest). */
  blockNumber?: number,
): Promise<OnChainEscrow | undefined> {
  try {
    return await readEscrow(client, address, escrowId, blockNumber);
  } catch (e) {
    if (revertErrorName(e) === "CustodyEscrowNotFound") return undefined;
    throw e;
  }
}
