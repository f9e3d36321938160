import type { Address, Hex, PublicClient } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

export interface VerifyInclusionOnChainParameters {
  headIndex: number;
  leafIndex: number;
  leafHash: Hex;
  proof: readonly Hex[];
}

/** On-chain RFC 9162 inclusion check against an anchored head (`verifyInclusion`, a plain eth_call). */
export async function verifyInclusionOnChain(
  client: PublicClient,
  address: Address,
  params: VerifyInclusionOnChainParameters,
): Promise<boolean> {
  return client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "verifyInclusion",
    args: [BigInt(params.headIndex), BigInt(params.leafIndex), params.leafHash, params.proof],
  });
}
