import { encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { custodyEscrowAbi } from "../generated/abi";

/** What `release` / `refund` would do now for escrow `escrowId` (undefined: neither, or paused). */
export type EscrowSettlement = "release" | "refund";

/**
 * Which permissionless settlement CustodyEscrow accepts now for `escrowId`, read from its
 * `releasable` / `refundable` views (both false while paused or for an unknown escrow).
 */
export async function readEscrowSettlement(
  client: PublicClient,
  address: Address,
  escrowId: Hex,
): Promise<EscrowSettlement | undefined> {
  const [releasable, refundable] = await Promise.all(
    (["releasable", "refundable"] as const).map((functionName) =>
      client.readContract({ address, abi: custodyEscrowAbi, functionName, args: [escrowId] }),
    ),
  );
  return releasable ? "release" : refundable ? "refund" : undefined;
}

/** Call data of `CustodyEscrow.release(escrowId)` or `refund(escrowId)` (anyone may send them). */
export function settleEscrowCallData(escrowId: Hex, settlement: EscrowSettlement): Hex {
  return encodeFunctionData({ abi: custodyEscrowAbi, functionName: settlement, args: [escrowId] });
}
