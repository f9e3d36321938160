import { encodeFunctionData, type Hex } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

export interface AnchorHeadParameters {
  treeSize: number;
  rootHash: Hex;
  /** RFC 9162 consistency proof from the latest anchored head; empty for the first head. */
  consistencyProof: readonly Hex[];
  metadataHash: Hex;
  /**
   * The cosigner's EIP-712 signature of this head (65 bytes), for a contract deployed with a
   * cosigner: the call becomes `anchorCosigned(..., cosignature)`.
   */
  cosignature?: Hex;
}

/**
 * Call data of `CustodyAnchor.anchor(treeSize, rootHash, proof, metadataHash)`, or of
 * `anchorCosigned(…, cosignature)` when a cosignature is given (ANCHORER_ROLE). The
 * relayer signs and sends it through its transaction sender, which owns nonces and fee bumps.
 */
export function anchorHeadCallData(p: AnchorHeadParameters): Hex {
  if (p.cosignature !== undefined)
    return encodeFunctionData({
      abi: custodyAnchorAbi,
      functionName: "anchorCosigned",
      args: [BigInt(p.treeSize), p.rootHash, p.consistencyProof, p.metadataHash, p.cosignature],
    });
  return encodeFunctionData({
    abi: custodyAnchorAbi,
    functionName: "anchor",
    args: [BigInt(p.treeSize), p.rootHash, p.consistencyProof, p.metadataHash],
  });
}
