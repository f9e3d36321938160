import type { Address, PublicClient } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

/** Number of heads anchored in the CustodyAnchor at `address` (`headCount()`). */
export async function readHeadCount(client: PublicClient, address: Address): Promise<number> {
  return Number(await client.readContract({ address, abi: custodyAnchorAbi, functionName: "headCount" }));
}
