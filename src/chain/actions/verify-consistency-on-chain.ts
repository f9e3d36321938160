import type { Address, Hex, PublicClient } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

export interface VerifyConsistencyOnChainParameters {
  fromHeadIndex: number;
  toHeadIndex: number;
  proof: readonly Hex[];
}

/** On-chain RFC 9162 consistency check between two anchored heads (`verifyConsistency`, a plain eth_call). */
export async function verifyConsistencyOnChain(
  client: PublicClient,
  address: Address,
  params: VerifyConsistencyOnChainParameters,
): Promise<boolean> {
  return client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "verifyConsistency",
    args: [BigInt(params.fromHeadIndex), BigInt(params.toHeadIndex), params.proof],
  });
}
