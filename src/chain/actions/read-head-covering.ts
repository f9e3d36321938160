import type { Address, PublicClient } from "viem";
import { custodyAnchorAbi } from "../generated/abi";
import { readLatestHead } from "./read-latest-head";

/** Index of the first head covering leaf `leafIndex` (`headCovering`), or undefined when none covers it yet. */
export async function readHeadCovering(
  client: PublicClient,
  address: Address,
  leafIndex: number,
): Promise<number | undefined> {
  const latest = await readLatestHead(client, address);
  if (!latest || leafIndex >= latest.treeSize) return undefined;
  const index = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "headCovering",
    args: [BigInt(leafIndex)],
  });
  return Number(index);
}
