import { encodeFunctionData, type Hex } from "viem";
import type { EscrowTerms } from "../../protocol/escrow-terms-v1";
import { custodyEscrowAbi } from "../generated/abi";

/**
 * Call data of `CustodyEscrow.createEscrow(escrowId, terms)` (PLATFORM_ROLE). The relayer signs and
 * sends it through its transaction sender.
 */
export function createEscrowCallData(escrowId: Hex, terms: EscrowTerms): Hex {
  return encodeFunctionData({ abi: custodyEscrowAbi, functionName: "createEscrow", args: [escrowId, terms] });
}
