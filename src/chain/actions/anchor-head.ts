import { encodeFunctionData, type Hex } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

export interface AnchorHeadParameters {
  treeSize: number;
  rootHash: Hex;
  /** RFC 9162 consistency proof from the latest anchored head; empty for the first head. */
  consistencyProof: readonly Hex[];
  metadataHash: Hex;
}

/**
 * Call data of `CustodyAnchor.anchor(treeSize, rootHash, proof, metadataHash)` (ANCHORER_ROLE). The
 * relayer signs and sends it through its transaction sender, which owns nonces and fee bumps.
 */
export function anchorHeadCallData(p: AnchorHeadParameters): Hex {
  return encodeFunctionData({
    abi: custodyAnchorAbi,
    functionName: "anchor",
    args: [BigInt(p.treeSize), p.rootHash, p.consistencyProof, p.metadataHash],
  });
}
