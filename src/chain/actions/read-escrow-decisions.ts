import type { Address, Hex, PublicClient } from "viem";
import { custodyEscrowAbi } from "../generated/abi";

/** An escrow decided on chain: released to the payee or refunded to the payer. */
export interface EscrowDecision {
  kind: "release" | "refund";
  escrowId: Hex;
  blockNumber: number;
  /** `<txHash>:<logIndex>`, lower-case: unique per event, so a replay can be recognised. */
  chainEventId: string;
}

/**
 * `EscrowReleased` / `EscrowRefunded` events of the CustodyEscrow at `address` in blocks
 * [fromBlock, toBlock], in chain order.
 */
export async function readEscrowDecisions(
  client: PublicClient,
  address: Address,
  range: { fromBlock: number; toBlock: number },
): Promise<EscrowDecision[]> {
  const logs = await client.getContractEvents({
    address,
    abi: custodyEscrowAbi,
    fromBlock: BigInt(range.fromBlock),
    toBlock: BigInt(range.toBlock),
  });
  logs.sort((a, b) => Number(a.blockNumber! - b.blockNumber!) || a.logIndex! - b.logIndex!);
  const out: EscrowDecision[] = [];
  for (const ev of logs) {
    if (ev.eventName !== "EscrowReleased" && ev.eventName !== "EscrowRefunded") continue;
    out.push({
      kind: ev.eventName === "EscrowReleased" ? "release" : "refund",
      escrowId: (ev.args as { escrowId: Hex }).escrowId.toLowerCase() as Hex,
      blockNumber: Number(ev.blockNumber),
      chainEventId: `${ev.transactionHash!.toLowerCase()}:${ev.logIndex}`,
    });
  }
  return out;
}
