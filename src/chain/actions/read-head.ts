import type { Address, Hex, PublicClient } from "viem";
import type { AnchoredHead } from "../../protocol/head";
import { custodyAnchorAbi } from "../generated/abi";

/** A head as the contract returns it (`getHead` / `latestHead`). */
export type RawHead = { rootHash: Hex; treeSize: bigint; timestamp: bigint; blockNumber: bigint };

export function anchoredHeadOf(headIndex: bigint | number, h: RawHead): AnchoredHead {
  return {
    headIndex: Number(headIndex),
    treeSize: Number(h.treeSize),
    rootHash: h.rootHash.toLowerCase() as Hex,
    blockNumber: Number(h.blockNumber),
    blockTimestamp: Number(h.timestamp),
  };
}

/** Head `headIndex` (`getHead`); reverts (CustodyAnchorUnknownHead) if it does not exist. */
export async function readHead(
  client: PublicClient,
  address: Address,
  headIndex: number,
): Promise<AnchoredHead> {
  const h = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "getHead",
    args: [BigInt(headIndex)],
  });
  return anchoredHeadOf(headIndex, h);
}
