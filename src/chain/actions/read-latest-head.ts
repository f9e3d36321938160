import type { Address, PublicClient } from "viem";
import type { AnchoredHead } from "../../protocol/head";
import { custodyAnchorAbi } from "../generated/abi";
import { readHeadCount } from "./read-head-count";
import { anchoredHeadOf } from "./read-head";

/** The latest head (`latestHead`), or undefined when none is anchored yet. */
export async function readLatestHead(
  client: PublicClient,
  address: Address,
): Promise<AnchoredHead | undefined> {
  if ((await readHeadCount(client, address)) === 0) return undefined;
  const [index, h] = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "latestHead",
  });
  return anchoredHeadOf(index, h);
}
